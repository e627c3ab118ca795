using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using RnnService.Api.Datasets;

namespace RnnService.Api.Configuration;

/// <summary>
/// Request examples in the OpenAPI document that work as they are, in order, on a fresh service: Swagger UI's "Try it
/// out" uploads the monthly airline passengers of 1949–1960 (Box &amp; Jenkins), trains a forecaster on them, and
/// predicts with it. Each example refers to the previous step's result by name, not by a generated id.
/// </summary>
public static class ApiExamples
{
    public const string DatasetName = "air-passengers";

    public const string ModelName = "air-passengers";

    /// <summary>International airline passengers, thousands per month, January 1949 to December 1960.</summary>
    private static readonly int[] Passengers =
    [
        112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118, 115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,
        145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166, 171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194,
        196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201, 204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229,
        242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278, 284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306,
        315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336, 340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,
        360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405, 417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432,
    ];

    public static JsonObject Dataset()
    {
        var csv = new StringBuilder("month,passengers\n");
        for (var i = 0; i < Passengers.Length; i++)
            csv.Append(CultureInfo.InvariantCulture, $"{1949 + i / 12}-{i % 12 + 1:00},{Passengers[i]}\n");
        return new JsonObject { ["name"] = DatasetName, ["format"] = "csv", ["content"] = csv.ToString() };
    }

    public static JsonObject TrainingJob() => new()
    {
        ["datasetId"] = DatasetName,
        ["modelName"] = ModelName,
        ["task"] = new JsonObject { ["kind"] = "forecast", ["horizon"] = 12, ["inputLength"] = 24, ["season"] = 12 },
        ["model"] = new JsonObject { ["cell"] = "lstm", ["hiddenSize"] = 32, ["numLayers"] = 1 },
        ["training"] = new JsonObject { ["epochs"] = 40, ["learningRate"] = 0.005, ["seed"] = 42 },
    };

    /// <summary>Six trials on the same data: units and learning rate searched, the rest at the defaults, asha on.</summary>
    public static JsonObject TuningJob() => new()
    {
        ["datasetId"] = DatasetName,
        ["modelName"] = ModelName + "-tuned",
        ["task"] = new JsonObject { ["kind"] = "forecast", ["horizon"] = 12 },
        ["training"] = new JsonObject { ["epochs"] = 30 },
        ["search"] = new JsonObject
        {
            ["space"] = new JsonObject
            {
                ["model.hiddenSize"] = new JsonObject { ["choice"] = new JsonArray(16, 32, 64) },
                ["training.learningRate"] = new JsonObject { ["logUniform"] = new JsonArray(1e-3, 1e-2) },
            },
            ["strategy"] = "random", ["maxTrials"] = 6, ["maxParallel"] = 2, ["metric"] = "mase", ["earlyStopping"] = "asha", ["seed"] = 1,
        },
    };

    /// <summary>
    /// The last two years as one sequence, and the last nine months as another: lengths may differ. The model reads the
    /// month of year (the dataset has a time column), so each input says when it starts.
    /// </summary>
    public static JsonObject Prediction() => new()
    {
        ["model"] = ModelName,
        ["inputs"] = new JsonArray(Window(24), Window(9)),
        ["starts"] = new JsonArray("1959-01", "1960-04"),
    };

    private static JsonArray Window(int months) =>
        new(Passengers[^months..].Select(value => (JsonNode)JsonValue.Create(value)).ToArray());

    public static OpenApiOptions AddRequestExamples(this OpenApiOptions options)
    {
        // inputs is read by its own converter: describe it as what clients send, lists of steps of numbers.
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (context.JsonTypeInfo.Type != typeof(Domain.Predictions.SequenceInputs)) return Task.CompletedTask;
            schema.Properties?.Clear();
            schema.Required?.Clear();
            // Written in place (ApiDocumentation), with the property's own description; both properties of this type
            // (predict's inputs and future) may be null.
            schema.Type = JsonSchemaType.Array | JsonSchemaType.Null;
            schema.Description ??= "Sequences of any lengths; each step is a number (one feature) or a list of numbers.";
            schema.Items = new OpenApiSchema
            {
                Type = JsonSchemaType.Array,
                Items = new OpenApiSchema
                {
                    OneOf =
                    [
                        new OpenApiSchema { Type = JsonSchemaType.Number },
                        new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Number } },
                    ],
                },
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var name = context.Description.ActionDescriptor.EndpointMetadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName;
            if (operation.RequestBody?.Content is not { } content) return;
            switch (name)
            {
                case "UploadDataset":
                    // JSON first: Swagger UI opens the first media type, and its "Try it out" then sends the example as it
                    // stands (switching from the form to JSON there carries the form's fields over as the body).
                    var form = content.TryGetValue("multipart/form-data", out var multipart) ? multipart : null;
                    content.Clear();
                    content["application/json"] = new OpenApiMediaType
                    {
                        Schema = await context.GetOrCreateSchemaAsync(typeof(InlineDataset), null, cancellationToken),
                        Example = Dataset(),
                    };
                    if (form is not null)
                    {
                        // A form's file is its bytes: here the first rows of the example's CSV.
                        form.Example = new JsonObject
                        {
                            ["file"] = "month,passengers\n1949-01,112\n1949-02,118\n1949-03,132\n", ["name"] = DatasetName, ["format"] = "csv",
                        };
                        content["multipart/form-data"] = form;
                    }
                    break;
                case "CreateTrainingJob" when content.TryGetValue("application/json", out var job):
                    job.Example = TrainingJob();
                    break;
                case "CreateTuningJob" when content.TryGetValue("application/json", out var tuning):
                    tuning.Example = TuningJob();
                    break;
                case "Predict" when content.TryGetValue("application/json", out var predict):
                    predict.Example = Prediction();
                    break;
                case "CreatePredictionJob" when content.TryGetValue("application/json", out var batch):
                    batch.Example = new JsonObject { ["model"] = ModelName, ["datasetId"] = DatasetName, ["horizon"] = 12 };
                    break;
                case "SetModelAlias" when content.TryGetValue("application/json", out var alias):
                    alias.Example = new JsonObject { ["version"] = 1 };
                    break;
                case "FindStateMatches" when content.TryGetValue("application/json", out var matches):
                    matches.Example = new JsonObject { ["units"] = new JsonArray(3, 17), ["threshold"] = 0.3, ["length"] = 3, ["limit"] = 10 };
                    break;
                case "ImportModelVersion" when content.TryGetValue("multipart/form-data", out var import):
                    // weights is the file torch.save(model.state_dict()) wrote, whose bytes no example can show.
                    import.Example = new JsonObject
                    {
                        ["weights"] = "(the bytes of model.pt)",
                        ["spec"] = new JsonObject
                        {
                            ["task"] = new JsonObject { ["kind"] = "classification" },
                            ["model"] = new JsonObject { ["cell"] = "gru", ["pooling"] = "last" },
                        }.ToJsonString(),
                    };
                    break;
            }
        });
        return options;
    }
}
