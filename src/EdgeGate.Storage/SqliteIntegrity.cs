using Microsoft.Data.Sqlite;

namespace EdgeGate.Storage;

/// <summary>
/// <c>PRAGMA integrity_check</c> on an existing database file, opened read-only so a diagnostic never creates, migrates
/// or locks out the daemon's files (WAL readers do not block the writer).
/// </summary>
public static class SqliteIntegrity
{
    /// <summary>"ok", or SQLite's list of problems (at most <paramref name="maxErrors"/>).</summary>
    /// <exception cref="FileNotFoundException">no such file (nothing is created).</exception>
    /// <exception cref="InvalidDataException">not a SQLite database, or corrupt beyond checking.</exception>
    /// <exception cref="IOException">it could not be opened (permissions, locked).</exception>
    public static IReadOnlyList<string> Check(string path, int maxErrors = 10)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"no database at {full}", full);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
            DefaultTimeout = SqliteFiles.BusyTimeoutMs / 1000,
        }.ToString());
        try
        {
            connection.Open();
            SqliteFiles.Execute(connection, $"PRAGMA busy_timeout = {SqliteFiles.BusyTimeoutMs}");
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"PRAGMA integrity_check({Math.Max(1, maxErrors)})";
            using var reader = cmd.ExecuteReader();
            var lines = new List<string>();
            while (reader.Read()) lines.Add(reader.GetString(0));
            return lines;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is SQLitePCL.raw.SQLITE_NOTADB or SQLitePCL.raw.SQLITE_CORRUPT)
        {
            throw new InvalidDataException($"'{full}' is not a SQLite database or is corrupt: {ex.Message}", ex);
        }
        catch (SqliteException ex)
        {
            throw new IOException($"cannot check '{full}': {ex.Message}", ex);
        }
    }
}
