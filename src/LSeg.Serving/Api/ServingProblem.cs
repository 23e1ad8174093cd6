namespace LSeg.Serving.Api;

/// <summary>
/// A request the service refuses, with what an RFC 7807 problem+json answer needs. Thrown where the problem is found
/// (reading the upload, checking labels, looking up an image, waiting for the model) and turned into the answer by
/// <see cref="ProblemFilter"/>, so each handler reads as the happy path. Every kind is made in <see cref="Problems"/>.
/// </summary>
internal sealed class ServingProblem(int status, string code, string title, string detail) : Exception(detail)
{
    /// <summary>Prefix of every problem's <c>type</c>: a stable URI naming the kind of problem.</summary>
    public const string TypePrefix = "urn:lseg:problem:";

    /// <summary>HTTP status code.</summary>
    public int Status { get; } = status;

    /// <summary>Short, stable name of the kind of problem (the end of its <c>type</c>).</summary>
    public string Code { get; } = code;

    /// <summary>One line naming the kind of problem, the same for every occurrence.</summary>
    public string Title { get; } = title;

    /// <summary>Seconds after which the client may try again (sent as Retry-After), when that is known.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>The RFC 7807 <c>type</c> URI.</summary>
    public string Type => TypePrefix + Code;
}
