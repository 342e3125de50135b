using System.Runtime.CompilerServices;
using FsCheck;
using FsCheck.Fluent;

namespace Vec.Kernels.Tests;

/// <summary>
/// The backend-matrix contract of <see cref="IVectorKernels"/>: every kernel is specified once here and checked
/// against the scalar reference. Each backend gets a one-line subclass (see Backends.cs); a slow backend shrinks the
/// size budget and the number of FsCheck cases by overriding the virtual limits.
/// </summary>
/// <remarks>
/// Properties run through FsCheck with random shapes; data comes from <c>new Random(case.Seed)</c>. A failure reports
/// the original and shrunk <see cref="Case"/> (sizes and seed) and FsCheck's own replay seed.
/// </remarks>
public abstract partial class KernelContractTests(string backendName) : BackendTestBase(backendName)
{
    /// <summary>Largest vector dimension in generated cases.</summary>
    protected virtual int MaxDimension => 256;

    /// <summary>Largest row count of generated product operands and query batches.</summary>
    protected virtual int MaxRows => 40;

    /// <summary>Largest database in generated search cases.</summary>
    protected virtual int MaxDatabaseRows => 130;

    /// <summary>Largest batch and sequence length in generated pooling cases.</summary>
    protected virtual int MaxSequenceLength => 12;

    /// <summary>Largest score-row width in generated top-k cases.</summary>
    protected virtual int MaxColumns => 300;

    /// <summary>Largest input the fixed-size cases may use (elements); cases that need more are left out, not failed.</summary>
    protected virtual int MaxElements => 1 << 20;

    /// <summary>FsCheck cases per property.</summary>
    protected virtual int PropertyTests => 100;

    /// <summary>Checks <paramref name="body"/> on <see cref="PropertyTests"/> cases from <paramref name="gen"/>, shrinking failures.</summary>
    protected void Property(Gen<Case> gen, Func<Case, IEnumerable<Case>> shrink, Action<Case> body, [CallerMemberName] string name = "")
    {
        var config = Config.QuickThrowOnFailure
            .WithMaxTest(PropertyTests)
            .WithQuietOnSuccess(true)
            .WithName($"{BackendName}.{name}");
        Check.One(config, Prop.ForAll(Arb.From(gen, c => shrink(c)), body));
    }

    /// <summary>A readable tag for assertion messages.</summary>
    protected string Tag(Case c) => $"[{BackendName}] {c}";
}
