using System.CommandLine;

namespace Vec.Cli.Tests;

/// <summary>docs/cli.md documents every command and every option the parser knows, so the page cannot fall behind the code.</summary>
public class DocsTests
{
    [Fact]
    public void Cli_md_names_every_command_and_option()
    {
        string doc = File.ReadAllText(Path.Combine(PackagingTests.RepositoryRoot(), "docs", "cli.md"));
        var missing = new List<string>();
        var root = VecRecCli.BuildRoot(new CliContext(TextWriter.Null, TextWriter.Null, interactive: false));
        void Walk(Command c, string path)
        {
            foreach (Option o in c.Options)
            {
                if (o.Name is "--help" or "--version" or "--verbose") continue;
                if (path.Length > 0 && !doc.Contains(o.Name, StringComparison.Ordinal)) missing.Add($"{path} {o.Name}");
            }

            foreach (Command sub in c.Subcommands)
            {
                string p = (path + " " + sub.Name).Trim();
                if (!doc.Contains("vecrec " + p, StringComparison.Ordinal) && !doc.Contains($"`{p}`", StringComparison.Ordinal)) missing.Add(p);
                Walk(sub, p);
            }
        }

        Walk(root, "");
        Assert.True(missing.Count == 0, "docs/cli.md does not mention: " + string.Join(", ", missing));
    }
}
