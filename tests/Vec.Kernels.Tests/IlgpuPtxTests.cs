using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Vec.Kernels.Ilgpu;
using Xunit;

namespace Vec.Kernels.Tests;

/// <summary>Compiles every ILGPU kernel to PTX for SM 8.0, so CUDA code generation is checked without a GPU.</summary>
public class IlgpuPtxTests
{
    public static TheoryData<string> KernelNames()
    {
        var data = new TheoryData<string>();
        foreach (var kernel in DeviceKernels.All) data.Add(kernel.Name);
        return data;
    }

    [Fact]
    public void EveryPublicStaticKernelIsListed()
    {
        var listed = DeviceKernels.All.Select(k => k.Method).ToHashSet();
        var kernels = typeof(DeviceKernels).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(m => m.ReturnType == typeof(void) && m.DeclaringType == typeof(DeviceKernels));
        Assert.All(kernels, m => Assert.Contains(m, listed));
        Assert.Equal(DeviceKernels.All.Count, DeviceKernels.All.Select(k => k.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void KernelCompilesToPtx(string name)
    {
        var kernel = DeviceKernels.All.Single(k => k.Name == name);
        using var context = Context.Create(b => b.Cuda());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null);
        var entry = kernel.ExplicitlyGrouped
            ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel.Method)
            : EntryPointDescription.FromImplicitlyGroupedKernel(kernel.Method);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, new KernelSpecialization());
        string ptx = compiled.PTXAssembly;
        Assert.False(string.IsNullOrWhiteSpace(ptx));
        Assert.Contains(".entry " + compiled.Name, ptx);
        Assert.Contains(".target sm_80", ptx);
        if (kernel.ExplicitlyGrouped) Assert.Contains("bar.sync", ptx);
    }
}
