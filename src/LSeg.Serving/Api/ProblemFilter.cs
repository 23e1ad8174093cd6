using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace LSeg.Serving.Api;

/// <summary>Turns a <see cref="ServingProblem"/> thrown by a handler into an RFC 7807 <c>application/problem+json</c> answer.</summary>
internal sealed class ProblemFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (ServingProblem problem)
        {
            if (problem.RetryAfterSeconds is int seconds)
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Results.Problem(detail: problem.Message, statusCode: problem.Status, title: problem.Title, type: problem.Type);
        }
    }
}
