using System.CommandLine;
using System.CommandLine.Help;
using Spectre.Console;
using Vec.Cli.Commands;
using Vec.Embed;

namespace Vec.Cli;

/// <summary>
/// The <c>vecrec</c> command tree (System.CommandLine) and its one error policy: a user mistake (unknown option, bad
/// number, missing file, wrong dimension) prints one line <c>vecrec: ...</c> on the error writer and returns a non-zero
/// code, never a stack trace; <c>--verbose</c> adds the details.
/// </summary>
public static class VecRecCli
{
    /// <summary>Exit code of a user mistake (bad arguments, missing or malformed input).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code of a failure that is not the user's (a bug, an unexpected I/O error).</summary>
    public const int InternalError = 1;

    /// <summary>Parses and runs a command line, writing to the given writers (the console in <see cref="Program"/>, strings in tests).</summary>
    /// <param name="args">The arguments, without the program name.</param>
    /// <param name="output">Where results, tables and progress go.</param>
    /// <param name="error">Where error lines go.</param>
    /// <returns>0 on success, <see cref="UsageError"/> for a user mistake, <see cref="InternalError"/> otherwise.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var context = new CliContext(output, error, interactive: ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected);
        Command root = BuildRoot(context);
        ParseResult parsed = root.Parse(args);
        context.Verbose = parsed.GetValue(CliContext.VerboseOption);
        if (parsed.Errors.Count > 0 && parsed.Action is not HelpAction)
        {
            var first = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
            error.WriteLine($"vecrec: {OneLine(first.Message)} (see '{CommandPath(parsed)} --help')");
            return UsageError;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsUserError(e))
        {
            error.WriteLine($"vecrec: {OneLine(e.Message)}");
            if (context.Verbose) error.WriteLine(e.ToString());
            return UsageError;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("vecrec: cancelled");
            return InternalError;
        }
        catch (Exception e)
        {
            error.WriteLine($"vecrec: unexpected error: {OneLine(e.Message)}{(context.Verbose ? "" : " (run with --verbose for details)")}");
            if (context.Verbose) error.WriteLine(e.ToString());
            return InternalError;
        }
    }

    /// <summary>Builds the command tree.</summary>
    internal static Command BuildRoot(CliContext context)
    {
        // A plain command named "vecrec" rather than RootCommand, whose name is the host executable's (testhost in tests).
        var root = new Command("vecrec", "VecRec: text to vectors, vectors to nearest neighbours, neighbours to recommendations.");
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        root.Options.Add(CliContext.VerboseOption);
        root.Subcommands.Add(DemoCommand.Create(context));
        root.Subcommands.Add(EmbedCommand.Create(context));
        root.Subcommands.Add(IndexCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(EvalCommand.Create(context));
        root.Subcommands.Add(RecommendCommand.Create(context));
        root.Subcommands.Add(ModelCommand.Create(context));
        root.Subcommands.Add(BackendsCommand.Create(context));
        return root;
    }

    /// <summary>Exceptions that mean the input or the arguments were wrong, reported as one line.</summary>
    internal static bool IsUserError(Exception e) => e is CliException or ArgumentException or FileNotFoundException
        or DirectoryNotFoundException or InvalidDataException or UnauthorizedAccessException or FormatException
        or ModelStoreException or NotSupportedException or PathTooLongException;

    private static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var r = parsed.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Add(r.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    internal static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}

/// <summary>A user mistake detected by a command (e.g. a dimension mismatch), reported as one line with exit code 2.</summary>
/// <param name="message">What is wrong and, where it helps, what to do.</param>
public sealed class CliException(string message) : Exception(message);

/// <summary>What one invocation's commands share: the writers, a Spectre console on the output writer, and <c>--verbose</c>.</summary>
public sealed class CliContext
{
    /// <summary><c>--verbose</c>: show details (stack traces, per-step timings). Recursive: valid after any command.</summary>
    internal static readonly Option<bool> VerboseOption = new("--verbose", "-v")
    {
        Description = "Show details: per-step timings and, on errors, the full exception.",
        Recursive = true,
    };

    internal CliContext(TextWriter output, TextWriter error, bool interactive)
    {
        Output = output;
        Error = error;
        Interactive = interactive;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!interactive) Console.Profile.Width = 120;
    }

    /// <summary>Where results go.</summary>
    public TextWriter Output { get; }

    /// <summary>Where error lines go.</summary>
    public TextWriter Error { get; }

    /// <summary>Spectre console writing to <see cref="Output"/> (plain text when not a terminal).</summary>
    public IAnsiConsole Console { get; }

    /// <summary>True when the output is a terminal (live progress bars); false in tests and pipes.</summary>
    public bool Interactive { get; }

    /// <summary>Whether <c>--verbose</c> was given.</summary>
    public bool Verbose { get; internal set; }
}
