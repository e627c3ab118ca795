// RnnService's side of the training benchmark: one workload written by bench/peers/workloads.py, trained by the
// service's own epoch loop (TrainingRun.TrainEpoch: batches of similar lengths, the engine's training step) with the
// engine configured as the service configures it. The first epoch warms up; the later ones are timed. Prints one
// JSON line in the peer's format (bench/peers/train.py).
//
//   TrainingBench WORKLOAD_DIR --threads N [--seed S] [--device cpu|cuda]
//   TrainingBench --inference [--cell lstm|gru] [--threads N] [--seconds S]   (InferenceBench.cs: the serving forward alone)
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using RnnService.Domain.Models;
using RnnService.Training.Pipeline;
using RnnService.Training.Torch;

string Option(string name, string fallback) =>
    args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
var threads = int.Parse(Option("--threads", "1"), CultureInfo.InvariantCulture);
var seed = int.Parse(Option("--seed", "1"), CultureInfo.InvariantCulture);
if (args[0] == "--inference")
{
    InferenceBench.Run(threads, seed, Option("--cell", "lstm"), int.Parse(Option("--seconds", "3"), CultureInfo.InvariantCulture));
    return;
}
var folder = args[0];
var device = Option("--device", "cpu") switch
{
    "cpu" => EngineDevice.Cpu,
    "cuda" => EngineDevice.Cuda(),
    var other => throw new ArgumentException($"--device {other}: use cpu or cuda"),
};

// As the service starts the engine (Api/Configuration/EngineServices.cs).
TorchEngine.SetIntraOpThreads(threads);
TorchEngine.SetFlushDenormals(true);
TorchEngine.KeepFreedMemory(TorchEngine.DefaultKeepFreedMemoryMiB);
TorchEngine.SetAllowTf32(false);

var workload = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "workload.json"))).RootElement;
int Int(string name) => workload.GetProperty(name).GetInt32();
var tokens = Int("vocabulary") > 0;
var classification = workload.GetProperty("loss").GetString() == "cross_entropy";
var features = tokens ? 0 : Int("features");

List<Example> Read(string part)
{
    T[] Array<T>(string name) where T : struct => MemoryMarshal.Cast<byte, T>(File.ReadAllBytes(Path.Combine(folder, name))).ToArray();
    var lengths = Array<long>($"{part}_lengths.i64");
    var ids = tokens ? Array<long>($"{part}_inputs.i64") : null;
    var values = tokens ? null : Array<float>($"{part}_inputs.f32");
    var classes = classification ? Array<long>($"{part}_targets.i64") : null;
    var targets = classification ? null : Array<float>($"{part}_targets.f32");
    var examples = new List<Example>(lengths.Length);
    long offset = 0;
    for (var i = 0; i < lengths.Length; i++)
    {
        var length = (int)lengths[i];
        var width = tokens ? 1 : features;
        examples.Add(new Example(
            values?.AsSpan((int)offset, length * width).ToArray(), ids?.AsSpan((int)offset, length).ToArray(), length,
            targets is null ? null : [targets[i]], classes?[i] ?? 0));
        offset += length * width;
    }
    return examples;
}

var train = Read("train");
var validation = Read("validation");
var spec = new ModelSpec
{
    Cell = workload.GetProperty("cell").GetString() == "lstm" ? CellKind.Lstm : CellKind.Gru,
    NumLayers = Int("layers"),
    HiddenSize = Int("hidden"),
    Bidirectional = workload.GetProperty("bidirectional").GetBoolean(),
    InputSize = tokens ? Int("embedding") : features,
    VocabularySize = Int("vocabulary"),
    OutputSize = Int("outputs"),
    Dropout = 0,
};
var loss = classification ? LossKind.CrossEntropy : LossKind.Mse;
using var model = SequenceModel.Create(spec, device, seed);
using var trainer = new ModelTrainer(model, new TrainerOptions
{
    Loss = loss,
    LearningRate = workload.GetProperty("learning_rate").GetDouble(),
    GradientClipNorm = workload.GetProperty("clip").GetDouble(),
});

var batchSize = Int("batch");
var epochs = Int("epochs");
double timedSeconds = 0;
int timedSteps = 0, timedSequences = 0;
for (var epoch = 1; epoch <= epochs; epoch++)
{
    var clock = Stopwatch.StartNew();
    TrainingRun.TrainEpoch(TorchSequenceEngine.Instance, trainer, train, features, batchSize, seed, epoch, CancellationToken.None);
    if (epoch == 1) continue;  // the first epoch warms up
    timedSeconds += clock.Elapsed.TotalSeconds;
    timedSteps += (train.Count + batchSize - 1) / batchSize;
    timedSequences += train.Count;
}

var (validationLoss, _) = TrainingRun.Evaluate(model, validation, features, spec.OutputSize, loss, CancellationToken.None);
var engine = TorchEngine.Query();
Console.WriteLine(JsonSerializer.Serialize(new
{
    workload = workload.GetProperty("name").GetString(),
    side = "rnnservice",
    threads = engine.IntraOpThreads,
    seed,
    timedEpochs = epochs - 1,
    steps = timedSteps,
    sequencesPerSecond = Math.Round(timedSequences / timedSeconds, 1),
    msPerStep = Math.Round(1000 * timedSeconds / timedSteps, 2),
    validationLoss = Math.Round(validationLoss, 5),
    engine = $"libtorch {engine.LibtorchVersion}",
    device = device.ToString(),
}));
