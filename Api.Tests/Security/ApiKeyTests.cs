using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;

namespace RnnService.Api.Tests.Security;

/// <summary>The service with three keys configured: one per scope. Keys are required as soon as one is.</summary>
public sealed class KeyedServiceFactory() : RnnServiceFactory(Keys.Settings(new Dictionary<string, string> { ["Roles"] = "api" }));

public static class Keys
{
    public const string Predict = "pk-0b6f1c3e9a2d4b7c8e5f1a2b3c4d5e6f";
    public const string Train = "tk-7a1e3c5b9d2f4a6c8e0b1d3f5a7c9e1b";
    public const string Admin = "ak-c4e6a8b0d2f4e6a8c0b2d4f6a8c0e2b4";

    public static string Sha256(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary><paramref name="settings"/> plus the three keys under Auth:Keys, each stored as its hash only.</summary>
    public static Dictionary<string, string> Settings(Dictionary<string, string> settings)
    {
        var keys = new[] { ("predictor", Predict, "predict"), ("trainer", Train, "train"), ("operator", Admin, "admin") };
        for (var i = 0; i < keys.Length; i++)
        {
            settings[$"Auth:Keys:{i}:Name"] = keys[i].Item1;
            settings[$"Auth:Keys:{i}:Sha256"] = Sha256(keys[i].Item2);
            settings[$"Auth:Keys:{i}:Scopes:0"] = keys[i].Item3;
        }
        return settings;
    }

    public static HttpClient WithKey(this HttpClient client, string key)
    {
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }
}

/// <summary>Every rule of the API keys: who gets 401, who gets 403, what stays open, and what the documentation says.</summary>
public sealed class ApiKeyTests(KeyedServiceFactory service, RnnServiceFactory open)
    : IClassFixture<KeyedServiceFactory>, IClassFixture<RnnServiceFactory>
{
    /// <summary>Each protected endpoint with the scopes that reach it (admin reaches all).</summary>
    public static TheoryData<string, string, string> Endpoints() => new()
    {
        { "GET", "/datasets", "train" },
        { "POST", "/datasets", "train" },
        { "GET", "/datasets/ds_none", "train" },
        { "DELETE", "/datasets/ds_none", "admin" },
        { "GET", "/training-jobs", "train" },
        { "POST", "/training-jobs", "train" },
        { "GET", "/training-jobs/job_none", "train" },
        { "POST", "/training-jobs/job_none/cancel", "train" },
        { "GET", "/training-jobs/job_none/events", "train" },
        { "GET", "/models", "predict train" },
        { "GET", "/models/none", "predict train" },
        { "GET", "/models/none/versions/1", "predict train" },
        { "GET", "/models/none/versions/1/weights", "predict train" },
        { "POST", "/models/none/versions", "admin" },
        { "DELETE", "/models/none/versions/1", "admin" },
        { "PUT", "/models/none/aliases/champion", "admin" },
        { "DELETE", "/models/none/aliases/champion", "admin" },
        { "POST", "/predict", "predict" },
        { "GET", "/prediction-jobs", "predict" },
        { "POST", "/prediction-jobs", "predict" },
        { "GET", "/prediction-jobs/pred_none", "predict" },
        { "POST", "/prediction-jobs/pred_none/cancel", "predict" },
        { "GET", "/prediction-jobs/pred_none/results", "predict" },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task WithoutAKeyEveryEndpointAnswers401AsAProblem(string method, string path, string scopes)
    {
        _ = scopes;
        var response = await service.CreateClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("X-Api-Key", response.Headers.WwwAuthenticate.ToString());
        Assert.Contains("needs an API key", (await response.ProblemAsync())["detail"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task EachKeyReachesExactlyTheEndpointsOfItsScope(string method, string path, string scopes)
    {
        foreach (var (key, scope) in new[] { (Keys.Predict, "predict"), (Keys.Train, "train"), (Keys.Admin, "admin") })
        {
            var client = service.CreateClient().WithKey(key);
            var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            var allowed = scope == "admin" || scopes.Split(' ').Contains(scope);
            if (allowed)
            {
                // Past the key check: what the endpoint itself answers (404 for what does not exist, 400 or 415 for no body).
                Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden),
                    $"{scope} on {method} {path}: {response.StatusCode}");
                Assert.True((int)response.StatusCode < 500, $"{scope} on {method} {path}: {response.StatusCode}");
            }
            else
            {
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{scope} on {method} {path}: {response.StatusCode}");
                var detail = (await response.ProblemAsync())["detail"]!.GetValue<string>();
                Assert.Contains($"'{KeyName(scope)}'", detail);
                Assert.Contains(scopes.Split(' ')[0], detail);
            }
        }
    }

    [Fact]
    public async Task AnUnknownKeyIs401AndABearerKeyIsAKey()
    {
        var unknown = await service.CreateClient().WithKey("not-a-key").GetAsync("/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Contains("not one this service knows", (await unknown.ProblemAsync())["detail"]!.GetValue<string>());

        var client = service.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Keys.Train);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/datasets")).StatusCode);
        // A key differing in its last character is another key.
        var nearly = await service.CreateClient().WithKey(Keys.Train[..^1] + "x").GetAsync("/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, nearly.StatusCode);
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/swagger/index.html")]
    public async Task ProbesAndDocumentationNeedNoKey(string path)
    {
        var response = await service.CreateClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task WithoutKeysConfiguredTheServiceIsOpenAndIgnoresKeys()
    {
        Assert.Equal(HttpStatusCode.OK, (await open.CreateClient().GetAsync("/datasets")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await open.CreateClient().WithKey("anything").GetAsync("/models")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await open.CreateClient().DeleteAsync("/datasets/ds_none")).StatusCode);
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheKeySoThatSwaggerUiCanSendIt()
    {
        var document = (await service.CreateClient().GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        var scheme = document["components"]!["securitySchemes"]!["ApiKey"]!;
        Assert.Equal("apiKey", scheme["type"]!.GetValue<string>());
        Assert.Equal("header", scheme["in"]!.GetValue<string>());
        Assert.Equal("X-Api-Key", scheme["name"]!.GetValue<string>());

        var predict = document["paths"]!["/predict"]!["post"]!;
        Assert.NotNull(predict["security"]![0]!["ApiKey"]);
        Assert.Contains("Scope: predict or admin.", predict["description"]!.GetValue<string>());
        Assert.NotNull(predict["responses"]!["401"]);
        // Open operations say so: one empty requirement (no key needed), which linters and Swagger UI read as open.
        var open = document["paths"]!["/health/live"]!["get"]!["security"]!.AsArray();
        Assert.Empty(Assert.Single(open)!.AsObject());
    }

    [Fact]
    public async Task AClientThatAcceptsOnlyHtmlStillGets401And403NotA500()
    {
        // A browser opening an endpoint: no writer takes application/problem+json for it, so the status goes alone.
        HttpRequestMessage Html(string path, string? key = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "Accept", "text/html" } } };
            if (key is not null) request.Headers.Add("X-Api-Key", key);
            return request;
        }
        var client = service.CreateClient();

        var unauthorized = await client.SendAsync(Html("/models"));
        var forbidden = await client.SendAsync(Html("/datasets", Keys.Predict));

        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Contains("X-Api-Key", unauthorized.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    [Theory]
    [InlineData("Auth:Keys:0:Sha256", "abc", "Auth:Keys:0:Sha256 must be the key's SHA-256")]
    [InlineData("Auth:Keys:0:Scopes:0", "root", "Auth:Keys:0:Scopes: 'root' is not one of predict, train, admin")]
    [InlineData("Auth:Keys:1:Name", "predictor", "Auth:Keys:1:Name 'predictor' is used by another key")]
    public void ABrokenKeyListStopsTheStartNamingTheSetting(string setting, string value, string expected)
    {
        var settings = Keys.Settings(new Dictionary<string, string> { ["Roles"] = "api" });
        settings[setting] = value;
        using var broken = RnnServiceFactory.With(settings);

        var error = Assert.ThrowsAny<Exception>(() => broken.CreateClient());
        Assert.Contains(expected, error.ToString());
    }

    private static string KeyName(string scope) => scope switch
    {
        "predict" => "predictor",
        "train" => "trainer",
        _ => "operator",
    };
}
