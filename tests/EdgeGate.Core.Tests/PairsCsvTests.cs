using EdgeGate.Core.Evaluation;

namespace EdgeGate.Core.Tests;

public class PairsCsvTests
{
    private static readonly string BaseDir = Path.Combine(Path.GetTempPath(), "pairs-base");

    [Fact]
    public void Parse_ResolvesPathsAgainstBaseDir()
    {
        var pairs = PairsCsv.Parse(["a,b,same", "x/1.jpg,y/2.jpg,1", " 3.png , 4.png ,0"], BaseDir);
        Assert.Equal(2, pairs.Count);
        Assert.Equal(new LabelledPair(Path.Combine(BaseDir, "x", "1.jpg"), Path.Combine(BaseDir, "y", "2.jpg"), true), pairs[0]);
        Assert.Equal(new LabelledPair(Path.Combine(BaseDir, "3.png"), Path.Combine(BaseDir, "4.png"), false), pairs[1]);
    }

    [Fact]
    public void Parse_AcceptsHeaderWithBomAndOtherCase()
    {
        Assert.Single(PairsCsv.Parse(["\uFEFFa,b,same", "1.jpg,2.jpg,1"], BaseDir));
        Assert.Single(PairsCsv.Parse(["A,B,Same ", "1.jpg,2.jpg,1"], BaseDir));
    }

    [Fact]
    public void Parse_RejectsMissingOrWrongHeader()
    {
        var ex = Assert.Throws<FormatException>(() => PairsCsv.Parse(["1.jpg,2.jpg,1"], BaseDir));
        Assert.Contains("line 1", ex.Message);
    }

    [Fact]
    public void Parse_EmptyFile_Throws()
    {
        Assert.Throws<FormatException>(() => PairsCsv.Parse([], BaseDir));
    }

    [Fact]
    public void Parse_HeaderOnly_Throws()
    {
        Assert.Throws<FormatException>(() => PairsCsv.Parse(["a,b,same", "", "  "], BaseDir));
    }

    [Fact]
    public void Parse_SkipsBlankLines_ButCountsThemInLineNumbers()
    {
        var ex = Assert.Throws<FormatException>(() => PairsCsv.Parse(["a,b,same", "", "1.jpg,2.jpg,1", "   ", "1.jpg,2.jpg,yes"], BaseDir, "dev.csv"));
        Assert.Contains("dev.csv", ex.Message);
        Assert.Contains("line 5", ex.Message);
        Assert.Single(PairsCsv.Parse(["a,b,same", "", "1.jpg,2.jpg,1", "   "], BaseDir));
    }

    [Theory]
    [InlineData("true")]
    [InlineData("2")]
    [InlineData("")]
    public void Parse_SameMustBeOneOrZero(string value)
    {
        var ex = Assert.Throws<FormatException>(() => PairsCsv.Parse(["a,b,same", "1.jpg,2.jpg,1", $"1.jpg,2.jpg,{value}"], BaseDir));
        Assert.Contains("line 3", ex.Message);
    }

    [Theory]
    [InlineData("1.jpg,2.jpg")]
    [InlineData("1.jpg,2.jpg,1,extra")]
    public void Parse_WrongFieldCount_Throws(string row)
    {
        var ex = Assert.Throws<FormatException>(() => PairsCsv.Parse(["a,b,same", row], BaseDir));
        Assert.Contains("line 2", ex.Message);
    }

    [Fact]
    public void Parse_EmptyPath_Throws()
    {
        Assert.Throws<FormatException>(() => PairsCsv.Parse(["a,b,same", " ,2.jpg,1"], BaseDir));
    }

    [Fact]
    public void Read_ResolvesRelativeToTheFilesFolder()
    {
        var dir = Directory.CreateTempSubdirectory("edgegate-pairs-");
        try
        {
            var path = Path.Combine(dir.FullName, "pairs.csv");
            File.WriteAllText(path, "a,b,same\nimg/a.jpg,img/b.jpg,0\n", new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
            var pair = Assert.Single(PairsCsv.Read(path));
            Assert.Equal(Path.Combine(dir.FullName, "img", "a.jpg"), pair.A);
            Assert.False(pair.Same);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
