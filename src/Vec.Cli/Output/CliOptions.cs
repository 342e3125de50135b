using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Vec.Cli.Output;

/// <summary>Option factories shared by the commands, so every command spells and validates them the same way.</summary>
internal static class CliOptions
{
    /// <summary><c>--json FILE</c>: also write the printed figures as JSON.</summary>
    public static Option<FileInfo?> Json() => new Option<FileInfo?>("--json")
    {
        Description = "Also write the printed figures to FILE as JSON.",
        HelpName = "FILE",
    }.ParentFolderMustExist();

    /// <summary><c>--plot FILE.png</c>: also draw the figures as a PNG chart.</summary>
    public static Option<FileInfo?> Plot(string what) => new Option<FileInfo?>("--plot")
    {
        Description = $"Also draw {what} as a PNG chart in FILE.",
        HelpName = "FILE.png",
    }.ParentFolderMustExist();

    /// <summary>An input file that must exist.</summary>
    public static Option<FileInfo> InputFile(string name, string description, bool required = true) =>
        new Option<FileInfo>(name) { Description = description, Required = required, HelpName = "FILE" }.AcceptExistingOnly();

    /// <summary>An input folder that must exist.</summary>
    public static Option<DirectoryInfo> InputFolder(string name, string description, bool required = true) =>
        new Option<DirectoryInfo>(name) { Description = description, Required = required, HelpName = "DIR" }.AcceptExistingOnly();

    /// <summary>An output file whose folder must exist.</summary>
    public static Option<FileInfo> OutputFile(string name, string description, bool required = true) =>
        new Option<FileInfo>(name) { Description = description, Required = required, HelpName = "FILE" }.ParentFolderMustExist();

    /// <summary>A positive integer option with a default.</summary>
    public static Option<int> Positive(string name, string description, int defaultValue) => new Option<int>(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        HelpName = "N",
    }.Must(v => v > 0, "must be a positive integer");

    /// <summary>A comma-separated list of positive integers (e.g. <c>--nprobe 1,4,16</c>).</summary>
    public static Option<int[]> PositiveList(string name, string description, int[] defaultValue) => new Option<int[]>(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        HelpName = "N,N,...",
        CustomParser = r => ParseList(r, name, s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture), v => v > 0, "positive integers"),
    };

    /// <summary>A comma-separated list of names (e.g. <c>--algo pop,ease</c>), optionally restricted to <paramref name="allowed"/>.</summary>
    public static Option<string[]> NameList(string name, string description, string[] defaultValue, IReadOnlyCollection<string>? allowed = null)
    {
        var option = new Option<string[]>(name)
        {
            Description = allowed is null ? description : $"{description} One or more of: {string.Join(", ", allowed)}.",
            DefaultValueFactory = _ => defaultValue,
            HelpName = "NAME,NAME,...",
            CustomParser = r => ParseList(r, name, s => s, _ => true, "names"),
        };
        if (allowed is not null)
        {
            option.Validators.Add(r =>
            {
                foreach (string v in r.GetValueOrDefault<string[]>() ?? [])
                {
                    if (!allowed.Contains(v))
                    {
                        r.AddError($"unknown value '{v}' for {name} (known: {string.Join(", ", allowed)})");
                        return;
                    }
                }
            });
        }

        return option;
    }

    /// <summary>Adds a validator: the option's value must satisfy <paramref name="predicate"/>.</summary>
    public static Option<T> Must<T>(this Option<T> option, Func<T, bool> predicate, string what)
    {
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count == 0) return;
            T? value;
            try
            {
                value = r.GetValueOrDefault<T>();
            }
            catch (InvalidOperationException)
            {
                return; // not convertible: the parser reports that error itself
            }

            if (value is null || !predicate(value)) r.AddError($"{option.Name} {what} (got '{string.Join(' ', r.Tokens.Select(t => t.Value))}')");
        });
        return option;
    }

    /// <summary>Adds a validator: the folder the file goes into must exist.</summary>
    public static Option<T> ParentFolderMustExist<T>(this Option<T> option) where T : FileSystemInfo?
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<T>() is not { } file) return;
            string? folder = Path.GetDirectoryName(file.FullName);
            if (folder is not null && !Directory.Exists(folder)) r.AddError($"folder of {option.Name} '{folder}' does not exist");
        });
        return option;
    }

    private static T[] ParseList<T>(ArgumentResult r, string name, Func<string, T> parse, Func<T, bool> ok, string what)
    {
        var values = new List<T>();
        foreach (var token in r.Tokens)
        {
            foreach (string part in token.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                T v;
                try
                {
                    v = parse(part);
                }
                catch (FormatException)
                {
                    r.AddError($"'{part}' in {name} is not valid: expected {what}");
                    return [];
                }
                catch (OverflowException)
                {
                    r.AddError($"'{part}' in {name} is out of range");
                    return [];
                }

                if (!ok(v))
                {
                    r.AddError($"'{part}' in {name} is not valid: expected {what}");
                    return [];
                }

                values.Add(v);
            }
        }

        return values.ToArray();
    }
}
