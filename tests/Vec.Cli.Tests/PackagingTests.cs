using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace Vec.Cli.Tests;

/// <summary>
/// PACKAGING (slow, about 2-3 minutes; filter: <c>--filter Category=Packaging</c>): packs the four libraries and the
/// tool with a unique version, checks what the packages hold, then restores, builds and runs a consumer whose Program.cs
/// is the README quick start, against those packages only, and installs and runs the tool.
/// </summary>
[Trait("Category", "Packaging")]
public sealed partial class PackagingTests(ITestOutputHelper log)
{
    private static readonly string[] Libraries = ["Vec.Kernels", "Vec.Index", "Vec.Embed", "Vec.Rec"];

    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(8);
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public void Packages_restore_build_and_run_the_readme_quick_start_and_the_tool_installs()
    {
        string root = RepositoryRoot();
        // A version never used before: the global package cache cannot serve a stale copy.
        string version = "0.0.0-ci." + DateTime.UtcNow.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var temp = new TempFolder();
        string feed = Directory.CreateDirectory(Path.Combine(temp.Path, "feed")).FullName;

        // 1. Pack, in its own artifacts folder (no writes to src/*/bin or obj, so no clash with a concurrent build).
        var solution = new XElement("Solution", Libraries.Append("Vec.Cli").Select(p =>
            new XElement("Project", new XAttribute("Path", Path.Combine(root, "src", p, p + ".csproj")))));
        string slnx = Path.Combine(temp.Path, "packages.slnx");
        solution.Save(slnx);
        Dotnet(temp.Path, PackTimeout, "pack", slnx, "-c", "Release", "-o", feed, "-p:Version=" + version,
            "--artifacts-path", Path.Combine(temp.Path, "artifacts"), "-nodeReuse:false");

        // 2. What the packages hold.
        foreach (string library in Libraries)
        {
            CheckLibraryPackage(feed, library, version);
        }

        CheckToolPackage(feed, version);

        // 3. A consumer of the packages, whose Program.cs is the README quick start verbatim.
        string consumer = Directory.CreateDirectory(Path.Combine(temp.Path, "consumer")).FullName;
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), QuickStart(root));
        File.WriteAllText(Path.Combine(consumer, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <!-- Adds the test feed to the machine's sources (no <clear/>). -->
              <packageSources>
                <add key="vecrec-test-feed" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        string globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string fallback = Directory.Exists(globalPackages)
            ? $"<RestoreAdditionalProjectFallbackFolders>{globalPackages}</RestoreAdditionalProjectFallbackFolders>"
            : "";
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <WarningsNotAsErrors>NU1603</WarningsNotAsErrors>
                <!-- Packages restored here; the machine's cache only as a read-only fallback, so nothing leaks into it. -->
                <RestorePackagesPath>{Path.Combine(temp.Path, "packages")}</RestorePackagesPath>
                {fallback}
              </PropertyGroup>
              <ItemGroup>
                <!-- VecRec.Rec alone: VecRec.Kernels, .Index and .Embed must come as its dependencies. -->
                <PackageReference Include="VecRec.Rec" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        Dotnet(consumer, StepTimeout, "build", "-c", "Release", "-nodeReuse:false");
        string bin = Path.Combine(consumer, "bin", "Release", "net10.0");
        Assert.True(File.Exists(Path.Combine(bin, "Vec.Rec.dll")), "Vec.Rec.dll missing from the consumer's output");
        Assert.True(Directory.EnumerateFiles(Path.Combine(bin, "runtimes"), "*onnxruntime*", SearchOption.AllDirectories).Any(),
            "ONNX Runtime's native library did not reach the consumer through the Microsoft.ML.OnnxRuntime package");

        string output = Dotnet(consumer, StepTimeout, Path.Combine(bin, "Consumer.dll"));
        string[] lines = output.Split('\n', StringSplitOptions.TrimEntries);
        Assert.True(lines.Contains("nearest: Coral reefs and ocean life"), "quick start output:\n" + output);
        Assert.True(lines.Contains("for user 3: Love and pastry in a small French town"), "quick start output:\n" + output);

        // 4. The tool installs from the feed and runs.
        string tools = Path.Combine(temp.Path, "tools");
        Dotnet(temp.Path, StepTimeout, "tool", "install", "vecrec", "--tool-path", tools, "--add-source", feed, "--version", version);
        string help = Run(Path.Combine(tools, OperatingSystem.IsWindows() ? "vecrec.exe" : "vecrec"), temp.Path, StepTimeout, "--help");
        Assert.Contains("demo", help, StringComparison.Ordinal);
    }

    private static void CheckLibraryPackage(string feed, string project, string version)
    {
        string id = "VecRec." + project["Vec.".Length..];
        string path = Path.Combine(feed, $"{id}.{version}.nupkg");
        Assert.True(File.Exists(path), $"{path} was not created");
        Assert.True(File.Exists(Path.ChangeExtension(path, ".snupkg")), $"{id}: no .snupkg symbol package");
        using ZipArchive zip = ZipFile.OpenRead(path);
        string[] entries = [.. zip.Entries.Select(e => e.FullName)];
        XElement metadata = Nuspec(zip, id);
        XNamespace ns = metadata.Name.Namespace;
        Assert.Equal(id, metadata.Element(ns + "id")?.Value);
        Assert.Equal(version, metadata.Element(ns + "version")?.Value);
        XElement? license = metadata.Element(ns + "license");
        Assert.Equal("expression", license?.Attribute("type")?.Value);
        Assert.Equal("MIT", license?.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value), $"{id}: no description");
        Assert.Contains("README.md", entries);
        Assert.Contains($"lib/net10.0/{project}.dll", entries);
        Assert.Contains($"lib/net10.0/{project}.xml", entries); // XML docs for IntelliSense
        Assert.DoesNotContain(entries, e => e.StartsWith("runtimes/", StringComparison.Ordinal)); // native assets come from their own packages

        Dictionary<string, string> dependencies = metadata.Descendants(ns + "dependency")
            .ToDictionary(d => (string)d.Attribute("id")!, d => (string)d.Attribute("version")!, StringComparer.Ordinal);
        string[] expected = project switch
        {
            "Vec.Kernels" => [],
            "Vec.Index" or "Vec.Embed" => ["VecRec.Kernels"],
            _ => ["VecRec.Kernels", "VecRec.Index", "VecRec.Embed"],
        };
        Assert.Equal(expected.Order(), dependencies.Keys.Where(k => k.StartsWith("VecRec.", StringComparison.Ordinal)).Order());
        Assert.All(expected, e => Assert.Equal(version, dependencies[e]));
        if (project == "Vec.Embed")
        {
            Assert.Contains("Microsoft.ML.OnnxRuntime", dependencies.Keys);
        }
    }

    private static void CheckToolPackage(string feed, string version)
    {
        string path = Path.Combine(feed, $"vecrec.{version}.nupkg");
        Assert.True(File.Exists(path), $"{path} was not created");
        Assert.True(File.Exists(Path.ChangeExtension(path, ".snupkg")), "vecrec: no .snupkg symbol package");
        using ZipArchive zip = ZipFile.OpenRead(path);
        XElement metadata = Nuspec(zip, "vecrec");
        XNamespace ns = metadata.Name.Namespace;
        Assert.Equal(version, metadata.Element(ns + "version")?.Value);
        Assert.Equal("DotnetTool", metadata.Descendants(ns + "packageType").Single().Attribute("name")?.Value);
        string[] entries = [.. zip.Entries.Select(e => e.FullName)];
        Assert.Contains("tools/net10.0/any/vecrec.dll", entries);
        Assert.Contains("tools/net10.0/any/DotnetToolSettings.xml", entries);
        Assert.Contains("README.md", entries);
        Assert.DoesNotContain(entries, e => e.StartsWith("tools/net10.0/any/runtimes/", StringComparison.Ordinal) && e.EndsWith(".pdb", StringComparison.Ordinal));
    }

    private static XElement Nuspec(ZipArchive zip, string id)
    {
        ZipArchiveEntry entry = zip.Entries.Single(e => e.FullName.Equals(id + ".nuspec", StringComparison.OrdinalIgnoreCase));
        using Stream stream = entry.Open();
        XElement package = XDocument.Load(stream).Root!;
        return package.Element(package.Name.Namespace + "metadata")!;
    }

    /// <summary>The C# fence between the quick-start markers of README.md, verbatim.</summary>
    internal static string QuickStart(string root)
    {
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        Match block = QuickStartBlock().Match(readme);
        Assert.True(block.Success, "README.md has no ```csharp fence between <!-- quickstart:begin --> and <!-- quickstart:end -->");
        return block.Groups["code"].Value;
    }

    [GeneratedRegex(@"<!-- quickstart:begin -->\s*```csharp\r?\n(?<code>.*?)```\s*<!-- quickstart:end -->", RegexOptions.Singleline)]
    private static partial Regex QuickStartBlock();

    /// <summary>The folder holding VecRec.sln, walking up from the test's output folder.</summary>
    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VecRec.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException($"No VecRec.sln above {AppContext.BaseDirectory}.");
    }

    private string Dotnet(string workingDirectory, TimeSpan timeout, params string[] args) =>
        Run(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet",
            workingDirectory, timeout, args);

    /// <summary>Runs a program; returns its output, or fails with the whole output on a non-zero exit or a timeout.</summary>
    private string Run(string program, string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        // The test host runs under MSBuild-launched vstest: its MSBuild variables must not steer the child builds.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";

        var output = new StringBuilder();
        using var outputDone = new ManualResetEventSlim();
        using var errorDone = new ManualResetEventSlim();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is null) outputDone.Set(); else lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is null) errorDone.Set(); else lock (output) output.AppendLine(e.Data); };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        string command = $"{program} {string.Join(' ', args)}";
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
            lock (output) Assert.Fail($"Timed out after {timeout.TotalSeconds:F0} s: {command}\n{output}");
        }

        // A build server started by the child may hold the pipes open: wait a little for the end of output, not for it.
        outputDone.Wait(TimeSpan.FromSeconds(5));
        errorDone.Wait(TimeSpan.FromSeconds(5));
        lock (output)
        {
            string text = output.ToString();
            Assert.True(process.ExitCode == 0, $"Exit code {process.ExitCode} after {clock.Elapsed.TotalSeconds:F0} s: {command}\n{text}");
            log.WriteLine($"[packaging] {clock.Elapsed.TotalSeconds:F1} s: {command}");
            return text;
        }
    }
}
