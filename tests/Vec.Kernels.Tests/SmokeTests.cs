using Vec.Kernels;
using Xunit;

namespace Vec.Kernels.Tests;

public class FactoryTests
{
    [Fact]
    public void ScalarIsAlwaysAvailable() =>
        Assert.Contains(KernelBackends.Available, b => b.Name == "scalar");
}
