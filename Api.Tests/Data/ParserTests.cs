using System.Text;
using RnnService.Domain.Datasets;
using RnnService.Training.Data;
using RnnService.Training.Pipeline;
using RnnService.Training.Tasks.Sequences;

namespace RnnService.Api.Tests.Data;

public sealed class ParserTests
{
    private static ParsedDataset Parse(string content, DatasetFormat format) =>
        DatasetParser.Parse(new MemoryStream(Encoding.UTF8.GetBytes(content)), format);

    [Fact]
    public void RowsAreOrderedByTheirTimeWithinEachSeriesInTheOrderSeriesFirstAppear()
    {
        var parsed = Parse("date,series,y\n2024-03,b,30\n2024-02,a,2\n2024-01,b,10\n2024-01,a,1\n", DatasetFormat.Csv);

        Assert.Equal(["b", "a"], parsed.TimeSeries!.Series.Select(s => s.Name));
        Assert.Equal([10.0, 30.0], parsed.TimeSeries.Series[0].Values[0]);
        Assert.Equal([1.0, 2.0], parsed.TimeSeries.Series[1].Values[0]);
    }

    [Fact]
    public void QuotedCellsMayHoldCommasAndQuotes()
    {
        var parsed = Parse("\"when, exactly\",\"value \"\"x\"\"\"\n2024-01-01,\"1.5\"\n", DatasetFormat.Csv);

        Assert.Equal(["value \"x\""], parsed.Summary.Columns!);
        Assert.Equal("when, exactly", parsed.Summary.TimeColumn);
        Assert.Equal([1.5], parsed.TimeSeries!.Series[0].Values[0]);
    }

    [Fact]
    public void EveryProblemNamesItsRowAndColumnUpToALimit()
    {
        var csv = new StringBuilder("load,temp\n");
        for (var i = 0; i < 30; i++) csv.Append("x,1\n");

        var error = Assert.Throws<DatasetParseException>(() => Parse(csv.ToString(), DatasetFormat.Csv));

        Assert.Equal(10, error.Problems.Count);
        Assert.Equal("row 1, column \"load\": not a number ('x').", error.Problems[0]);
        Assert.Equal("row 10, column \"load\": not a number ('x').", error.Problems[9]);
    }

    [Fact]
    public void NumbersBeyondFloatRangeAreRefused()
    {
        var error = Assert.Throws<DatasetParseException>(() => Parse("{\"sequence\": [1e39], \"label\": 1}\n", DatasetFormat.Jsonl));

        Assert.Equal("line 1: step 0 is not a finite number (1e39).", error.Problems[0]);
    }

    [Fact]
    public void TheTokenizerLowerCasesAndSplitsWordsFromPunctuation()
    {
        Assert.Equal(["hello", ",", "world", "!", "42"], Tokenizer.Tokenize("Hello, WORLD! 42"));
    }

    [Fact]
    public void TheVocabularyKeepsPadAndUnknownFirstThenTheMostFrequentWords()
    {
        var vocabulary = SequencePreprocessing.BuildVocabulary([["b", "a", "b"], ["c", "a", "b"]], size: 4);

        Assert.Equal(["<pad>", "<unk>", "b", "a"], vocabulary);
    }

    [Fact]
    public void LabelsPerStepMakeALabellingDatasetOfSequencesOrTokens()
    {
        var sequences = Parse("{\"sequence\": [[1, 2], [3, 4], [5, 6]], \"labels\": [0, 2, 1]}\n{\"sequence\": [[7, 8]], \"labels\": [1]}\n", DatasetFormat.Jsonl);
        var tokens = Parse("{\"tokens\": [\"The\", \"cat\"], \"labels\": [[0.5, 1], [2, 3]]}\n", DatasetFormat.Jsonl);

        Assert.Equal(DatasetKind.Sequences, sequences.Summary.Kind);
        Assert.Equal(new LabelSummary(LabelKind.Class, null, 1, PerStep: true), sequences.Summary.Labels! with { Classes = null });
        Assert.Equal(new Dictionary<string, int> { ["0"] = 1, ["1"] = 2, ["2"] = 1 }, sequences.Summary.Labels!.Classes);
        Assert.Equal([0.0, 2, 1], sequences.Labelled!.Labels[0]);
        Assert.Equal(DatasetKind.Tokens, tokens.Summary.Kind);
        Assert.Equal(LabelKind.Number, tokens.Summary.Labels!.Kind);
        Assert.Equal(2, tokens.Summary.Labels.Width);
        Assert.Equal(["The", "cat"], tokens.Labelled!.Tokens![0]);
        Assert.Equal([0.5, 1, 2, 3], tokens.Labelled.Labels[0]);
        Assert.Equal(2, tokens.Summary.DistinctTokens);
    }

    [Fact]
    public void LabelsThatDoNotMatchTheStepsOrTheFileAreRefusedByLine()
    {
        var error = Assert.Throws<DatasetParseException>(() => Parse(
            "{\"tokens\": [\"a\", \"b\"], \"labels\": [0, 1]}\n" +
            "{\"tokens\": [\"a\", \"b\"], \"labels\": [0]}\n" +
            "{\"tokens\": [\"a\", 3], \"labels\": [0, 1]}\n" +
            "{\"tokens\": [\"a\"]}\n" +
            "{\"sequence\": [1], \"labels\": [0]}\n" +
            "{\"tokens\": [\"a\"], \"labels\": [\"x\"]}\n", DatasetFormat.Jsonl));

        Assert.Equal(
        [
            "line 2: 1 labels for 2 steps; there must be one label per step.",
            "line 3: token 1 must be a non-empty string, got 3.",
            "line 4: \"labels\" missing: token lists are for labelling, with a label per token.",
            "line 5: has \"sequence\", but the file holds token lists.",
            "line 6: labels[0] must be an integer class, a number or a list of numbers, got \"x\".",
        ], error.Problems);
    }
}
