namespace RnnService.Api.Security;

/// <summary>
/// Who a request comes from, for the limits that are per client: its API key (<c>key:name</c>) once keys are configured,
/// otherwise its address (<c>client:127.0.0.1</c>). Rate limits and the job queue's per-client limits count by it.
/// </summary>
public static class ClientIdentity
{
    public static string Of(HttpContext context)
    {
        var name = context.User.Identity?.IsAuthenticated == true ? context.User.Identity.Name : null;
        return name is not null ? $"key:{name}" : $"client:{context.Connection.RemoteIpAddress}";
    }

    /// <summary>How a message names the client: "the API key 'team-a'" or "this client".</summary>
    public static string Describe(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true ? $"the API key '{context.User.Identity.Name}'" : "this client";
}
