using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using RnnService.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RnnService.Api.Tests.Security;

/// <summary>
/// Over a thousand generated malformed or adversarial requests (seeded, so that a failure repeats) across every
/// endpoint: broken and truncated JSON, wrong types, huge numbers, deep nesting, enormous arrays, path tricks in names
/// and ids, wrong content types, truncated and mislabelled multipart, wrong methods and queries, and valid but enormous
/// values in every size field (which the budgets must refuse). None may get a 5xx or
/// a 2xx that changes anything; afterwards the stored datasets, jobs, models and files are exactly what they were, and
/// the service still trains and serves.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    private const int Seed = 20261122;

    [Fact]
    public async Task AThousandHostileRequestsGetNo5xxAndChangeNothing()
    {
        using var service = RnnServiceFactory.With(new Dictionary<string, string>
        {
            ["Roles"] = "api",  // jobs stay queued: the job list is part of what must not change
            ["Datasets:MaxUploadBytes"] = "65536",
            ["Inference:MaxRequestBytes"] = "262144",
            ["Inference:MaxSequencesPerRequest"] = "256",
            ["Inference:MaxStepsPerSequence"] = "2000",
            ["Models:MaxImportBytes"] = "1048576",
            ["Inference:MaxRequestMemoryMiB"] = "32",
        });
        var client = service.CreateClient();
        var dataset = await client.UploadDatasetAsync(TestData.SeasonalCsv(48), "kept.csv");
        var job = await client.CreateJobAsync(new { datasetId = dataset, modelName = "kept-job", task = new { kind = "forecast", horizon = 3 } });
        await LimitTests.ImportAsync(client, "kept");
        // Datasets large enough that the largest values their sizes admit are enormous: 3,000 steps, 4,000 distinct words.
        var big = await client.UploadDatasetAsync(TestData.SeasonalCsv(3000), "big.csv");
        var texts = await client.UploadDatasetAsync(ManyWordsJsonl(), "texts.jsonl");
        var expanded = CraftedWeights.ExpandedLstm();
        var before = await SnapshotAsync(client, service.DataDirectory);

        var requests = Generate(new Random(Seed), dataset, job).Concat(Enormous(big, texts, expanded)).ToList();
        var statuses = new Dictionary<int, int>();
        var failures = new List<string>();
        foreach (var (label, make) in requests)
        {
            using var request = make();
            // Predictions store nothing; every other POST and every DELETE would.
            var changes = request.Method == HttpMethod.Delete || request.Method == HttpMethod.Post && request.RequestUri?.OriginalString != "/predict";
            using var response = await client.SendAsync(request);
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            if (status >= 500 || changes && status < 300)
                failures.Add($"{label}: {status} {Shorten(await response.Content.ReadAsStringAsync())}");
            else if (status >= 400 && response.Content.Headers.ContentLength != 0
                     && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                failures.Add($"{label}: {status} without a ProblemDetails ({response.Content.Headers.ContentType})");
        }

        output.WriteLine($"{requests.Count} hostile requests; statuses: " +
                         string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} x{s.Value}")));
        Assert.True(requests.Count >= 1000, $"only {requests.Count} requests");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        Assert.Equal(before, await SnapshotAsync(client, service.DataDirectory));
        // Still whole: it serves the model it had.
        var predict = await client.PostAsync("/predict", Json("""{"model":"kept","inputs":[[[0.1,0.2],[0.3,0.4]]]}"""));
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    /// <summary>What is stored: the listings through the API and every file's name and hash.</summary>
    private static async Task<string> SnapshotAsync(HttpClient client, string dataDirectory)
    {
        var text = new StringBuilder();
        foreach (var path in new[] { "/datasets", "/training-jobs", "/models", "/models/kept" })
            text.AppendLine(await client.GetStringAsync(path));
        foreach (var file in Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (file.EndsWith(".db-wal", StringComparison.Ordinal) || file.EndsWith(".db-shm", StringComparison.Ordinal)
                || file.EndsWith(".db", StringComparison.Ordinal)) continue;  // the database is compared through the API
            text.AppendLine($"{Path.GetRelativePath(dataDirectory, file)} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)))}");
        }
        return text.ToString();
    }

    private static IEnumerable<(string Label, Func<HttpRequestMessage> Make)> Generate(Random random, string dataset, string job)
    {
        // The bodies that store something start out unable to: a job for a dataset that does not exist, a dataset in a
        // format there is none of. No mutation of one byte or one field makes them valid, so a 2xx there is a hole.
        var validPredict = """{"model":"kept","inputs":[[[0.1,0.2],[0.3,0.4]],[[1,2]]],"returnStates":true}""";
        var validJob = """{"datasetId":"ds_00000000missing","modelName":"hostile","task":{"kind":"forecast","horizon":3},"training":{"epochs":2}}""";
        var validDataset = """{"name":"hostile","format":"xml","content":"month,load\n"}""";
        var jsonEndpoints = new[] { ("/predict", validPredict), ("/training-jobs", validJob), ("/datasets", validDataset) };

        // 1. Truncated and corrupted JSON, at every kind of position.
        foreach (var (path, body) in jsonEndpoints)
        {
            for (var i = 0; i < 40; i++)
            {
                var cut = random.Next(0, body.Length - 1);
                yield return ($"truncated {path} at {cut}", () => Post(path, Json(body[..cut])));
            }
            for (var i = 0; i < 30; i++)
            {
                var bytes = Encoding.UTF8.GetBytes(body);
                var at = random.Next(bytes.Length);
                var value = (byte)random.Next(256);
                bytes[at] = value;
                yield return ($"byte {value} at {at} of {path}", () => Post(path, Raw(bytes, "application/json")));
            }
        }

        // 2. Wrong types, huge and non-finite numbers in every field.
        var oddValues = new[]
        {
            "null", "true", "\"text\"", "{}", "[]", "[[]]", "1e309", "-1e309", "1e39", "99999999999999999999999999", "-1",
            "0", "\"NaN\"", "\"Infinity\"", "\"../../etc/passwd\"", "\"\\u0000\"", $"\"{new string('x', 5000)}\"", "[1,\"a\",null]",
            "{\"$ref\":\"#\"}", "1.5", "-0", "\"1\"",
        };
        var predictFields = new[] { "model", "inputs", "texts", "horizon", "returnStates", "returnProbabilities" };
        var jobFields = new[] { "datasetId", "modelName", "task", "model", "training" };
        var jobInner = new[]
        {
            "task.kind", "task.horizon", "task.inputLength", "task.season", "task.target", "model.cell", "model.pooling", "model.hiddenSize",
            "model.numLayers", "model.dropout", "model.embeddingDim", "model.bidirectional", "training.epochs",
            "training.batchSize", "training.learningRate", "training.device", "training.validationSplit", "training.seed",
        };
        foreach (var field in predictFields)
        foreach (var value in oddValues)
            yield return ($"predict {field}={Shorten(value)}", () => Post("/predict", Json(Set(validPredict, field, value))));
        foreach (var field in jobFields.Concat(jobInner))
        foreach (var value in oddValues.Where((_, i) => i % 2 == (field.Length % 2)))
            yield return ($"job {field}={Shorten(value)}", () => Post("/training-jobs", Json(Set(validJob, field, value))));
        foreach (var field in new[] { "name", "format", "content" })
        foreach (var value in oddValues)
            yield return ($"dataset {field}={Shorten(value)}", () => Post("/datasets", Json(Set(validDataset, field, value))));
        foreach (var value in oddValues)
        {
            yield return ($"predict step value {Shorten(value)}",
                () => Post("/predict", Json($$"""{"model":"kept","inputs":[[[0.1,{{value}}]]]}""")));
            yield return ($"predict sequence {Shorten(value)}",
                () => Post("/predict", Json($$"""{"model":"kept","inputs":[{{value}}]}""")));
        }

        // 3. Deep nesting, enormous arrays and bodies over the limits.
        foreach (var depth in new[] { 64, 65, 200, 1000, 10_000, 100_000 })
        {
            yield return ($"inputs nested {depth}", () => Post("/predict", Json($"{{\"model\":\"kept\",\"inputs\":{new string('[', depth)}1{new string(']', depth)}}}")));
            yield return ($"object nested {depth}", () => Post("/training-jobs", Json(string.Concat(Enumerable.Repeat("{\"task\":", depth)) + "1" + new string('}', depth))));
            yield return ($"unclosed nesting {depth}", () => Post("/datasets", Json(new string('[', depth))));
        }
        yield return ("257 sequences", () => Post("/predict", Json($"{{\"model\":\"kept\",\"inputs\":[{string.Join(",", Enumerable.Repeat("[[1,2]]", 257))}]}}")));
        yield return ("2001 steps", () => Post("/predict", Json($"{{\"model\":\"kept\",\"inputs\":[[{string.Join(",", Enumerable.Repeat("[1,2]", 2001))}]]}}")));
        yield return ("100,000 empty sequences", () => Post("/predict", Json($"{{\"model\":\"kept\",\"inputs\":[{string.Join(",", Enumerable.Repeat("[]", 100_000))}]}}")));
        yield return ("a 1 MB number", () => Post("/predict", Json($"{{\"model\":\"kept\",\"inputs\":[[[{new string('9', 1 << 20)}]]]}}")));
        yield return ("a 2 MB predict body", () => Post("/predict", Json($"{{\"model\":\"kept\",\"inputs\":[[[1,2]]],\"pad\":\"{new string('a', 2 << 20)}\"}}")));
        yield return ("a 2 MB job body", () => Post("/training-jobs", Json($"{{\"modelName\":\"{new string('a', 2 << 20)}\"}}")));
        yield return ("a 200 KB dataset", () => Post("/datasets", Json($"{{\"name\":\"big\",\"format\":\"csv\",\"content\":\"{new string('1', 200_000)}\"}}")));
        yield return ("a 2 MB import", () => Post("/models/big/versions", Multipart(("spec", "{\"task\":{\"kind\":\"regression\"}}"), ("weights", new string('x', 2 << 20)))));

        // 4. Path tricks in names and ids, on every route that takes one.
        var names = new[]
        {
            "..", "%2e%2e", "..%2f..%2fetc", "..%5c..%5cwindows", "%2fetc%2fpasswd", "%00", "a%00b", "kept%2f..", ".", "~",
            "CON", "nul", "%252e%252e", "..%c0%af", "%e2%80%ae", new string('n', 4000), "kept:abc", "kept:-1", "kept:99999999999",
            "%20", "a%0d%0aSet-Cookie:x", "%ff%fe", "*", "kept?x=1", "$(id)",
        };
        // %00 in a path is refused by the test host's own client before it is sent (Kestrel answers it 400); the bodies
        // carry NUL characters instead (oddValues).
        foreach (var name in names.Where(name => !name.Contains("%00", StringComparison.Ordinal)))
        {
            yield return ($"GET dataset {Shorten(name)}", () => new HttpRequestMessage(HttpMethod.Get, $"/datasets/{name}"));
            yield return ($"DELETE dataset {Shorten(name)}", () => new HttpRequestMessage(HttpMethod.Delete, $"/datasets/{name}"));
            yield return ($"GET job {Shorten(name)}", () => new HttpRequestMessage(HttpMethod.Get, $"/training-jobs/{name}"));
            yield return ($"cancel job {Shorten(name)}", () => Post($"/training-jobs/{name}/cancel", null));
            yield return ($"events {Shorten(name)}", () => new HttpRequestMessage(HttpMethod.Get, $"/training-jobs/{name}/events"));
            yield return ($"GET model {Shorten(name)}", () => new HttpRequestMessage(HttpMethod.Get, $"/models/{name}"));
            yield return ($"GET version {Shorten(name)}", () => new HttpRequestMessage(HttpMethod.Get, $"/models/{name}/versions/1"));
            yield return ($"GET weights {Shorten(name)}", () => new HttpRequestMessage(HttpMethod.Get, $"/models/{name}/versions/1/weights"));
            yield return ($"DELETE version {Shorten(name)}", () => new HttpRequestMessage(HttpMethod.Delete, $"/models/{name}/versions/1"));
            yield return ($"import as {Shorten(name)}", () => Post($"/models/{name}/versions", Multipart(("spec", "{\"task\":{\"kind\":\"regression\"}}"), ("weights", "PK"))));
            var unescaped = Uri.UnescapeDataString(name).Replace("\"", "\\\"");
            yield return ($"predict model {Shorten(name)}", () => Post("/predict", Json($"{{\"model\":\"{unescaped}\",\"inputs\":[[[1,2]]]}}")));
            yield return ($"job modelName {Shorten(name)}", () => Post("/training-jobs", Json(Set(validJob, "modelName", $"\"{unescaped}\""))));
            yield return ($"job datasetId {Shorten(name)}", () => Post("/training-jobs", Json(Set(validJob, "datasetId", $"\"{unescaped}\""))));
            yield return ($"dataset named {Shorten(name)}", () => Post("/datasets", Multipart(("file", "a,b\n"), ("name", unescaped), ("format", "tsv"))));
        }
        foreach (var version in new[] { "0", "-1", "2147483648", "1e3", "abc", "%2e%2e", "1.5", "0x1" })
        {
            yield return ($"version {version}", () => new HttpRequestMessage(HttpMethod.Get, $"/models/kept/versions/{version}"));
            yield return ($"delete version {version}", () => new HttpRequestMessage(HttpMethod.Delete, $"/models/kept/versions/{version}"));
        }

        // 5. Wrong content types and mislabelled bodies.
        var types = new[]
        {
            "text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=",
            "application/json; charset=utf-32", "application/octet-stream", "image/png", "application/json; charset=nope", "*/*", "",
        };
        foreach (var (path, body) in jsonEndpoints.Append(("/models/x/versions", validPredict)))
        foreach (var type in types)
            yield return ($"{path} as '{type}'", () => Post(path, Raw(Encoding.UTF8.GetBytes(body), type)));
        yield return ("predict as a form", () => Post("/predict", Multipart(("model", "kept"), ("inputs", "[[[1,2]]]"))));
        yield return ("job as a form", () => Post("/training-jobs", Multipart(("datasetId", dataset))));
        yield return ("no body at all", () => Post("/predict", null));
        yield return ("job without a body", () => Post("/training-jobs", null));

        // 6. Truncated, mislabelled and broken multipart.
        var csv = TestData.SeasonalCsv(24);
        foreach (var path in new[] { "/datasets", "/models/hostile/versions" })
        {
            var whole = MultipartBytes("XyZ", path == "/datasets"
                ? [("file", csv, "d.csv"), ("name", "hostile", null)]
                : [("spec", "{\"task\":{\"kind\":\"regression\"}}", null), ("weights", "PK\u0003\u0004garbage", "m.pt")]);
            for (var i = 0; i < 40; i++)
            {
                var cut = random.Next(1, whole.Length - 1);
                yield return ($"{path} multipart cut at {cut}", () => Post(path, Raw(whole[..cut], "multipart/form-data; boundary=XyZ")));
            }
            yield return ($"{path} wrong boundary", () => Post(path, Raw(whole, "multipart/form-data; boundary=Other")));
            yield return ($"{path} no boundary", () => Post(path, Raw(whole, "multipart/form-data")));
            yield return ($"{path} a 1 KB boundary", () => Post(path, Raw(whole, $"multipart/form-data; boundary={new string('b', 1000)}")));
            yield return ($"{path} a huge part header", () => Post(path, Raw(
                Encoding.UTF8.GetBytes($"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{new string('f', 40_000)}\"\r\n\r\nx\r\n--XyZ--\r\n"),
                "multipart/form-data; boundary=XyZ")));
            yield return ($"{path} 5000 parts", () => Post(path, Raw(MultipartBytes("XyZ", Enumerable.Range(0, 5000)
                .Select(i => ($"p{i}", "x", (string?)null)).ToArray()), "multipart/form-data; boundary=XyZ")));
        }
        yield return ("dataset file of binary", () => Post("/datasets", Multipart(("file", "\0\u0001\u0002\u00ff"), ("format", "csv"))));
        yield return ("import without weights", () => Post("/models/hostile/versions", Multipart(("spec", "{\"task\":{\"kind\":\"regression\"}}"))));
        yield return ("import with a zip bomb header", () => Post("/models/hostile/versions", Multipart(("spec", "{\"task\":{\"kind\":\"regression\"}}"),
            ("weights", "PK\u0005\u0006\0\0\0\0\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\0\0"))));

        // 7. Wrong methods and queries.
        foreach (var path in new[] { "/predict", "/datasets", "/training-jobs", "/models", "/models/kept/versions/1", $"/training-jobs/{job}" })
        foreach (var method in new[] { "PUT", "PATCH", "TRACE", "FOO" })
            yield return ($"{method} {path}", () => new HttpRequestMessage(new HttpMethod(method), path) { Content = Json("{}") });
        foreach (var query in new[] { "limit=-1", "limit=0", "limit=1001", "limit=abc", "limit=1e3", "state=running;drop", "state=9", "state=",
                     "limit=99999999999999999999", $"state={new string('s', 10_000)}" })
            yield return ($"jobs ?{Shorten(query)}", () => new HttpRequestMessage(HttpMethod.Get, $"/training-jobs?{query}"));
        yield return ("cancel a queued job by a path trick", () => Post($"/training-jobs/..%2f{job}/cancel", null));
    }

    /// <summary>
    /// 8. Valid but enormous: in every size field of every endpoint, a value its own range admits but the budget must
    /// not (a model of billions of parameters, a batch of 65,536 windows of 2,000 steps, a vocabulary of 10 million words
    /// of 65,536 dimensions, a time limit of 29,000 years, a request within every count and byte limit whose engine
    /// work is gigabytes, weights whose shapes claim 12.8 billion values). Each must be a 4xx that stores nothing.
    /// </summary>
    private static IEnumerable<(string Label, Func<HttpRequestMessage> Make)> Enormous(string big, string texts, byte[] expanded)
    {
        var forecast = new JsonObject { ["datasetId"] = big, ["modelName"] = "enormous", ["task"] = new JsonObject { ["kind"] = "forecast" } };
        var classify = new JsonObject { ["datasetId"] = texts, ["modelName"] = "enormous", ["task"] = new JsonObject { ["kind"] = "classification" } };
        var jobs = new (string Label, JsonObject Body, string Fields)[]
        {
            ("hiddenSize 65,536", forecast, """{"model":{"hiddenSize":65536}}"""),
            ("numLayers 16 of 8,192", forecast, """{"model":{"numLayers":16,"hiddenSize":8192}}"""),
            ("bidirectional 16 × 65,536", forecast, """{"model":{"numLayers":16,"hiddenSize":65536,"bidirectional":true}}"""),
            // (A batch is never larger than the windows there are: 400 here, of 2,000 steps; with 512 units that is 28 GB.)
            ("batchSize 65,536 of 2,000 steps, LSTM 512", forecast,
                """{"task":{"kind":"forecast","inputLength":2000},"model":{"hiddenSize":512},"training":{"batchSize":65536}}"""),
            ("batchSize 65,536 of 2,000 steps, GRU 2 × 1,024", forecast,
                """{"task":{"kind":"forecast","inputLength":2000},"model":{"cell":"gru","numLayers":2,"hiddenSize":1024},"training":{"batchSize":65536}}"""),
            ("inputLength 100,000", forecast, """{"task":{"kind":"forecast","inputLength":100000}}"""),
            ("horizon 10,000", forecast, """{"task":{"kind":"forecast","horizon":10000}}"""),
            ("season 100,000", forecast, """{"task":{"kind":"forecast","season":100000}}"""),
            ("maxDuration of 29,000 years", forecast, """{"training":{"maxDuration":"P10675199D"}}"""),
            ("vocabularySize 10,000,000 of 65,536 dimensions", classify,
                """{"task":{"kind":"classification","vocabularySize":10000000},"model":{"embeddingDim":65536,"hiddenSize":4096}}"""),
            ("embeddingDim 65,536 and hiddenSize 65,536", classify, """{"model":{"embeddingDim":65536,"hiddenSize":65536}}"""),
            ("texts, batchSize 65,536 of bidirectional 2,048", classify,
                """{"model":{"bidirectional":true,"hiddenSize":2048,"numLayers":4},"training":{"batchSize":65536}}"""),
        };
        foreach (var (label, body, fields) in jobs)
        {
            var merged = JsonNode.Parse(body.ToJsonString())!.AsObject();
            foreach (var (key, value) in JsonNode.Parse(fields)!.AsObject()) merged[key] = value!.DeepClone();
            yield return ($"enormous job: {label}", () => Post("/training-jobs", Json(merged.ToJsonString())));
        }

        // Within the body limit (256 KB), 256 sequences and 2,000 steps, but gigabytes of engine work or states.
        var steps = string.Join(",", Enumerable.Repeat("[0.5,0.5]", 400));
        var many = $"[{string.Join(",", Enumerable.Repeat($"[{steps}]", 64))}]";
        yield return ("enormous predict: 64 × 400 steps", () => Post("/predict", Json($$"""{"model":"kept","inputs":{{many}}}""")));
        yield return ("enormous predict: 64 × 400 steps with states", () => Post("/predict", Json($$"""{"model":"kept","inputs":{{many}},"returnStates":true}""")));
        yield return ("enormous predict: horizon 2^31 - 1", () => Post("/predict", Json("""{"model":"kept","inputs":[[[1,2]]],"horizon":2147483647}""")));

        // Weights whose shapes claim 12.8 billion values in a few KB; a spec that claims 65,536 hidden units.
        yield return ("enormous import: expanded views", () => Post("/models/enormous/versions",
            MultipartWithBytes("""{"task":{"kind":"regression"}}""", expanded)));
        yield return ("enormous import: spec of 65,536 hidden units", () => Post("/models/enormous/versions",
            MultipartWithBytes("""{"task":{"kind":"regression"},"model":{"hiddenSize":65536,"numLayers":16}}""", expanded)));
        yield return ("enormous listing", () => new HttpRequestMessage(HttpMethod.Get, "/training-jobs?limit=2147483647"));
    }

    /// <summary>Texts over 4,000 distinct words, labelled by parity.</summary>
    private static string ManyWordsJsonl()
    {
        var text = new StringBuilder();
        for (var i = 0; i < 400; i++)
        {
            var words = Enumerable.Range(0, 10).Select(w => $"w{i * 10 + w}");
            text.Append(System.Text.Json.JsonSerializer.Serialize(new { text = string.Join(' ', words), label = i % 2 })).Append('\n');
        }
        return text.ToString();
    }

    private static MultipartFormDataContent MultipartWithBytes(string spec, byte[] weights)
    {
        var form = new MultipartFormDataContent();
        form.Add(new StringContent(spec, Encoding.UTF8), "spec");
        form.Add(new ByteArrayContent(weights), "weights", "m.pt");
        return form;
    }

    private static HttpRequestMessage Post(string path, HttpContent? content) => new(HttpMethod.Post, path) { Content = content };

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static ByteArrayContent Raw(byte[] bytes, string contentType)
    {
        var content = new ByteArrayContent(bytes);
        if (contentType.Length > 0) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    private static MultipartFormDataContent Multipart(params (string Name, string Value)[] parts)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, value) in parts)
        {
            if (name is "file" or "weights") form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(value)), name, name == "file" ? "d.csv" : "m.pt");
            else form.Add(new StringContent(value), name);
        }
        return form;
    }

    private static byte[] MultipartBytes(string boundary, (string Name, string Value, string? FileName)[] parts)
    {
        var text = new StringBuilder();
        foreach (var (name, value, fileName) in parts)
        {
            text.Append($"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"");
            if (fileName is not null) text.Append($"; filename=\"{fileName}\"");
            text.Append($"\r\n\r\n{value}\r\n");
        }
        return Encoding.UTF8.GetBytes(text.Append($"--{boundary}--\r\n").ToString());
    }

    /// <summary>The body with the field at <paramref name="path"/> (a.b) replaced by the raw JSON <paramref name="value"/>.</summary>
    private static string Set(string body, string path, string value)
    {
        var root = JsonNode.Parse(body)!.AsObject();
        var parts = path.Split('.');
        var target = root;
        foreach (var part in parts[..^1])
        {
            if (target[part] is not JsonObject next) target[part] = next = new JsonObject();
            target = next;
        }
        // Values JsonNode cannot hold (1e309, deep text) go in by text substitution.
        target[parts[^1]] = "\u0001placeholder\u0001";
        return root.ToJsonString().Replace("\"\\u0001placeholder\\u0001\"", value, StringComparison.Ordinal);
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : $"{text[..40]}…({text.Length} chars)";
}
