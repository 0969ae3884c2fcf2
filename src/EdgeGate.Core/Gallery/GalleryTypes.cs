namespace EdgeGate.Core.Gallery;

/// <summary>
/// An enrolled person. Validity bounds are inclusive-from, exclusive-until, in UTC. <see cref="Schedule"/> (null = any
/// time) is checked separately, in the site's time zone.
/// </summary>
public sealed record Person(
    string Id,
    string Name,
    bool Enabled,
    DateTimeOffset? ValidFrom,
    DateTimeOffset? ValidUntil,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    WeeklySchedule? Schedule = null)
{
    public bool IsValidAt(DateTimeOffset now) =>
        Enabled && (ValidFrom is null || now >= ValidFrom) && (ValidUntil is null || now < ValidUntil);
}

/// <summary>
/// One stored face embedding. <see cref="ModelId"/> names the embedding model that produced it: vectors of
/// different models live in different spaces and must never be compared.
/// </summary>
public sealed record FaceTemplate(
    long Id,
    string PersonId,
    string ModelId,
    float[] Embedding,
    float Quality,
    DateTimeOffset CreatedAt);

/// <summary>A template about to be stored (the store assigns id and time).</summary>
public sealed record NewTemplate(string ModelId, float[] Embedding, float Quality);

/// <summary>What to write for a person when enrolling: created when new, name updated when present.</summary>
public sealed record PersonEnrolment(
    string Id,
    string Name,
    bool Enabled = true,
    DateTimeOffset? ValidFrom = null,
    DateTimeOffset? ValidUntil = null,
    WeeklySchedule? Schedule = null);

public sealed record EnrolOutcome(Person Person, bool Created, IReadOnlyList<long> TemplateIds);

/// <summary>Persistent gallery. Every write is one transaction: on any failure nothing changes.</summary>
public interface IGalleryStore : IDisposable
{
    /// <summary>Creates or updates the person and appends the templates, atomically.</summary>
    /// <exception cref="ArgumentException">empty id/name, no templates, or an empty/non-finite embedding.</exception>
    EnrolOutcome Enrol(PersonEnrolment person, IReadOnlyList<NewTemplate> templates);

    /// <summary>Removes the person and all of their templates. False when there was no such person.</summary>
    bool Delete(string personId);

    Person? GetPerson(string personId);

    IReadOnlyList<Person> ListPersons();

    IReadOnlyList<FaceTemplate> GetTemplates(string personId);

    /// <summary>Every template made by <paramref name="modelId"/>, for loading the matcher's index.</summary>
    IReadOnlyList<FaceTemplate> LoadTemplates(string modelId);

    /// <summary>How many templates were made by a model other than <paramref name="modelId"/> (these need re-enrolment).</summary>
    int CountTemplatesNotFrom(string modelId);
}
