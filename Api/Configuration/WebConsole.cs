using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;
using RnnService.Api.Infrastructure;

namespace RnnService.Api.Configuration;

/// <summary>
/// The web console at <c>/ui</c>: the static files that <c>Console/</c> builds into the service's <c>console</c> folder
/// (the build runs npm; nothing is fetched when the service runs). The page is public; its API calls carry the key the
/// user types.
/// </summary>
public static class WebConsole
{
    public const string Path = "/ui";

    /// <summary>Where the built console is: <c>Console:Directory</c>, or the <c>console</c> folder beside the service.</summary>
    public static string Folder(IConfiguration configuration) =>
        configuration["Console:Directory"] is { Length: > 0 } folder ? folder : System.IO.Path.Combine(AppContext.BaseDirectory, "console");

    public static WebApplication MapWebConsole(this WebApplication app)
    {
        var folder = Folder(app.Configuration);
        var index = System.IO.Path.Combine(folder, "index.html");
        // Routing matches /ui and /ui/ alike: the first is sent to the second, which the page's links are relative to.
        app.MapGet(Path, (HttpContext context) =>
        {
            if (!context.Request.Path.Value!.EndsWith('/')) return Results.Redirect(Path + "/");
            if (!File.Exists(index))
                return Problems.NotFound("the console is not built into this service: build it with `dotnet build` (which runs npm in Console/).");
            // The page names its hashed assets: it must be fetched anew, they may be kept.
            context.Response.Headers.CacheControl = "no-cache";
            return Results.File(index, "text/html; charset=utf-8");
        }).ExcludeFromDescription();
        if (Directory.Exists(folder))
        {
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = new PhysicalFileProvider(folder),
                RequestPath = Path,
                OnPrepareResponse = context =>
                {
                    if (context.File.Name != "index.html")
                        context.Context.Response.Headers[HeaderNames.CacheControl] = "public, max-age=31536000, immutable";
                },
            });
        }
        return app;
    }
}
