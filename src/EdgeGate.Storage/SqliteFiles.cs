using Microsoft.Data.Sqlite;

namespace EdgeGate.Storage;

/// <summary>
/// What every EdgeGate database file shares: one long-lived, unpooled connection (pooling would keep the file open
/// after Dispose, which breaks replacing or deleting it), the directory created on demand, and one mapping of SQLite
/// failures: not a database / corrupt → <see cref="InvalidDataException"/>, anything else → <see cref="IOException"/>.
/// Each store does its own pragmas and schema in <c>initialise</c>.
/// </summary>
internal static class SqliteFiles
{
    public const int BusyTimeoutMs = 5000;

    /// <param name="what">how the file is named in errors, e.g. "Gallery file".</param>
    public static SqliteConnection Open(string path, string what, Action<SqliteConnection, string> initialise, out string fullPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString());
        try
        {
            connection.Open();
            Execute(connection, $"PRAGMA busy_timeout = {BusyTimeoutMs}");
            initialise(connection, fullPath);
            return connection;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is SQLitePCL.raw.SQLITE_NOTADB or SQLitePCL.raw.SQLITE_CORRUPT)
        {
            connection.Dispose();
            throw new InvalidDataException($"{what} '{fullPath}' is not a SQLite database or is corrupt: {ex.Message}", ex);
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new IOException($"Cannot open {what.ToLowerInvariant()} '{fullPath}': {ex.Message}", ex);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
