namespace Vec.Kernels.Tests;

/// <summary>The scalar reference against itself: checks the spec's invariants hold for the reference too.</summary>
public sealed class ScalarKernelTests() : KernelContractTests("scalar");

/// <summary>The widest SIMD backend.</summary>
public sealed class SimdKernelTests() : KernelContractTests("simd");

/// <summary>SIMD forced to Vector256 kernels.</summary>
public sealed class Simd256KernelTests() : KernelContractTests("simd256");

/// <summary>SIMD forced to Vector128 kernels.</summary>
public sealed class Simd128KernelTests() : KernelContractTests("simd128");

/// <summary>
/// ILGPU kernels on ILGPU's CPU simulator (about 10^5 times slower than native): tiny shapes and few cases. Skipped
/// until the backend is registered.
/// </summary>
public sealed class IlgpuCpuKernelTests() : KernelContractTests("ilgpu-cpu")
{
    /// <inheritdoc />
    protected override int MaxDimension => 33;
    /// <inheritdoc />
    protected override int MaxRows => 5;
    /// <inheritdoc />
    protected override int MaxDatabaseRows => 40;
    /// <inheritdoc />
    protected override int MaxSequenceLength => 4;
    /// <inheritdoc />
    protected override int MaxColumns => 40;
    /// <inheritdoc />
    protected override int MaxElements => 2048;
    /// <inheritdoc />
    protected override int PropertyTests => 12;
}
