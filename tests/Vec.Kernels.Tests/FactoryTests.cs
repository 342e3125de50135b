using Xunit;

namespace Vec.Kernels.Tests;

/// <summary>The backend registry: names, availability, creation and errors.</summary>
public class FactoryTests
{
    private static readonly string[] CpuBackends = ["scalar", "simd", "simd256", "simd128"];

    [Fact]
    public void AllAndAvailableListTheCpuBackends()
    {
        var all = KernelBackends.All.Select(b => b.Name).ToArray();
        var available = KernelBackends.Available.Select(b => b.Name).ToArray();
        Assert.Equal(all.Length, all.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        foreach (string name in CpuBackends) Assert.Contains(name, all);
        Assert.Contains("scalar", available);
        Assert.Contains("simd", available);
        Assert.All(KernelBackends.Available, b => Assert.True(b.IsAvailable));
        Assert.Equal(KernelBackends.All.Where(b => b.IsAvailable).Select(b => b.Name), available);
        Assert.All(KernelBackends.All.Where(b => CpuBackends.Contains(b.Name)), b => Assert.False(b.IsGpu));
        Assert.All(KernelBackends.All, b => Assert.False(string.IsNullOrWhiteSpace(b.Description)));
    }

    [Fact]
    public void SimdVariantsAreAvailableWhereTheirVectorsAre()
    {
        bool Available(string name) => KernelBackends.All.Single(b => b.Name == name).IsAvailable;
        Assert.Equal(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated, Available("simd256"));
        Assert.Equal(System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated, Available("simd128"));
    }

    [Fact]
    public void CreateIsCaseInsensitiveAndReportsTheCanonicalName()
    {
        foreach (var info in KernelBackends.Available.Where(b => !b.IsGpu))
        {
            foreach (string spelling in new[] { info.Name, info.Name.ToUpperInvariant(), char.ToUpperInvariant(info.Name[0]) + info.Name[1..] })
            {
                using var kernels = KernelBackends.Create(spelling);
                Assert.Equal(info.Name, kernels.Name);
                Assert.False(string.IsNullOrWhiteSpace(kernels.Description));
                Assert.True(kernels.MaxK >= 4096, $"{info.Name}: MaxK {kernels.MaxK} < 4096");
            }
        }
    }

    [Fact]
    public void CreateRejectsUnknownNamesAndBadOptions()
    {
        var unknown = Assert.ThrowsAny<ArgumentException>(() => KernelBackends.Create("no-such-backend"));
        Assert.Equal("name", unknown.ParamName);
        Assert.Contains("no-such-backend", unknown.Message);
        Assert.Equal("name", Assert.ThrowsAny<ArgumentException>(() => KernelBackends.Create("")).ParamName);
        Assert.Equal("name", Assert.ThrowsAny<ArgumentException>(() => KernelBackends.Create("   ")).ParamName);
        Assert.Equal("name", Assert.ThrowsAny<ArgumentException>(() => KernelBackends.Create(null!)).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => KernelBackends.Create("scalar", new KernelOptions { MaxThreads = 0 })).ParamName);
        foreach (var missing in KernelBackends.All.Where(b => !b.IsAvailable))
            Assert.Equal("name", Assert.ThrowsAny<ArgumentException>(() => KernelBackends.Create(missing.Name)).ParamName);
    }

    [Fact]
    public void OneThreadGivesTheSameResults()
    {
        var random = new Random(1);
        float[] a = TestData.Matrix(random, 40, 64, ValueKind.Integers);
        float[] b = TestData.Matrix(random, 300, 64, ValueKind.Integers);
        using var one = KernelBackends.Create("simd", new KernelOptions { MaxThreads = 1 });
        using var many = KernelBackends.Create("simd", new KernelOptions { MaxThreads = 8 });
        var x = new float[40 * 300];
        var y = new float[40 * 300];
        one.InnerProducts(a, 40, b, 300, 64, x);
        many.InnerProducts(a, 40, b, 300, 64, y);
        Assert.Equal(x, y);
    }
}

/// <summary>Tests that change the process environment; the collection runs alone, so no other test sees the change.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    /// <summary>Collection name.</summary>
    public const string Name = "Process environment";
}

/// <summary><see cref="KernelBackends.CreateDefault"/> and <see cref="KernelBackends.DefaultName"/> with and without VECREC_BACKEND.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class DefaultBackendTests : IDisposable
{
    private readonly string? _saved = Environment.GetEnvironmentVariable(KernelBackends.EnvironmentVariable);

    /// <summary>Restores the variable.</summary>
    public void Dispose() => Environment.SetEnvironmentVariable(KernelBackends.EnvironmentVariable, _saved);

    [Fact]
    public void WithoutTheVariableTheDefaultIsSimdWhenThereIsNoGpu()
    {
        Environment.SetEnvironmentVariable(KernelBackends.EnvironmentVariable, null);
        bool gpu = KernelBackends.Available.Any(b => b.IsGpu && b.Name != "ilgpu-cpu");
        Assert.False(gpu, "This test machine is expected to have no GPU backend; update the test if it has one.");
        Assert.Equal("simd", KernelBackends.DefaultName);
        using var kernels = KernelBackends.CreateDefault();
        Assert.Equal("simd", kernels.Name);
    }

    [Fact]
    public void TheVariableForcesTheBackend()
    {
        foreach ((string value, string expected) in new[] { ("scalar", "scalar"), (" SIMD128 ", "simd128"), ("Simd256", "simd256") })
        {
            Environment.SetEnvironmentVariable(KernelBackends.EnvironmentVariable, value);
            Assert.Equal(value.Trim(), KernelBackends.DefaultName);
            using var kernels = KernelBackends.CreateDefault();
            Assert.Equal(expected, kernels.Name);
        }
        Environment.SetEnvironmentVariable(KernelBackends.EnvironmentVariable, "  ");
        Assert.Equal("simd", KernelBackends.DefaultName);
    }

    [Fact]
    public void AnUnknownVariableValueThrowsNamingName()
    {
        Environment.SetEnvironmentVariable(KernelBackends.EnvironmentVariable, "quantum");
        var e = Assert.ThrowsAny<ArgumentException>(() => KernelBackends.CreateDefault());
        Assert.Equal("name", e.ParamName);
        Assert.Contains("quantum", e.Message);
    }
}
