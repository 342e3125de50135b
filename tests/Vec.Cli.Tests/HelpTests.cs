using System.CommandLine;

namespace Vec.Cli.Tests;

/// <summary>Every command's <c>--help</c>, and the one-line error policy for mistakes any command can make.</summary>
public class HelpTests
{
    /// <summary>Every command path in the tree (e.g. <c>index build</c>).</summary>
    public static TheoryData<string> CommandPaths()
    {
        var data = new TheoryData<string>();
        var root = VecRecCli.BuildRoot(new CliContext(TextWriter.Null, TextWriter.Null, interactive: false));
        void Walk(Command c, string prefix)
        {
            foreach (Command sub in c.Subcommands)
            {
                string path = (prefix + " " + sub.Name).Trim();
                data.Add(path);
                Walk(sub, path);
            }
        }

        Walk(root, "");
        return data;
    }

    [Theory]
    [MemberData(nameof(CommandPaths))]
    public void Every_command_has_help_with_a_description_and_its_options(string path)
    {
        var run = CliRunner.Run([.. path.Split(' '), "--help"]);
        Assert.Equal(0, run.Code);
        Assert.Equal("", run.Stderr);
        Assert.Contains("Description:", run.Stdout);
        Assert.Contains("Usage:", run.Stdout);
        Assert.Contains($"vecrec {path}", run.Stdout);
    }

    [Fact]
    public void Root_help_lists_every_command()
    {
        var run = CliRunner.Run("--help");
        Assert.Equal(0, run.Code);
        foreach (string c in new[] { "demo", "embed", "index", "bench", "eval", "recommend", "model", "backends" })
            Assert.Contains(c, run.Stdout);
    }

    [Theory]
    [InlineData("Unrecognized command or argument 'frobnicate'", "frobnicate")]
    [InlineData("Unrecognized command or argument '--kk'", "eval", "--kk", "3")]
    [InlineData("Cannot parse argument 'ten' for option '--k'", "eval", "--k", "ten")]
    [InlineData("--k must be a positive integer (got '0')", "eval", "--k", "0")]
    [InlineData("Required argument missing for option: '--k'", "eval", "--k")]
    [InlineData("unknown value 'bogus' for --algo", "eval", "--algo", "pop,bogus")]
    [InlineData("Argument 'warm' not recognized", "eval", "--protocol", "warm")]
    [InlineData("Argument 'xls' not recognized", "eval", "--format", "xls")]
    [InlineData("Directory does not exist: '/nonexistent-vecrec-data'", "eval", "--data", "/nonexistent-vecrec-data")]
    [InlineData("folder of --json '/nonexistent-vecrec' does not exist", "eval", "--data", ".", "--json", "/nonexistent-vecrec/x.json")]
    public void Mistakes_print_one_line_and_exit_non_zero(string expected, params string[] args)
    {
        var run = CliRunner.Run(args);
        CliRunner.AssertOneLineError(run, expected);
        Assert.Equal(VecRecCli.UsageError, run.Code);
    }

    [Fact]
    public void Verbose_adds_the_exception_details()
    {
        using var dir = new TempFolder();
        dir.Write("u.item", "1|Toy Story (1995)|01-Jan-1995||url|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
        var quiet = CliRunner.Run("eval", "--data", dir.Path, "--algo", "pop");
        CliRunner.AssertOneLineError(quiet, "u.data");
        var verbose = CliRunner.Run("eval", "--data", dir.Path, "--algo", "pop", "--verbose");
        Assert.Equal(VecRecCli.UsageError, verbose.Code);
        Assert.Contains("   at ", verbose.Stderr);
    }
}
