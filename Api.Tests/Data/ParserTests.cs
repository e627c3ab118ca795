using System.Text;
using RnnService.Domain.Datasets;
using RnnService.Training.Data;
using RnnService.Training.Tasks.Sequences;
using RnnService.Training.Pipeline;

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
}
