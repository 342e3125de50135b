using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Vec.Kernels.Tests;

/// <summary>
/// A fact on a backend-matrix test class (<see cref="BackendTestBase"/>). It runs like <see cref="FactAttribute"/>, but is
/// reported as skipped, with the reason, when the class's backend is not registered or its probe fails on this machine.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
[XunitTestCaseDiscoverer("Vec.Kernels.Tests.BackendFactDiscoverer", "Vec.Kernels.Tests")]
public sealed class BackendFactAttribute : FactAttribute;

/// <summary>Discovers <see cref="BackendFactAttribute"/> tests, skipping them where the class's backend cannot run.</summary>
public sealed class BackendFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    /// <inheritdoc />
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var display = discoveryOptions.MethodDisplayOrDefault();
        var displayOptions = discoveryOptions.MethodDisplayOptionsOrDefault();
        string? reason = BackendTestBase.SkipReason(testMethod.TestClass.Class.ToRuntimeType());
        return reason is null
            ? [new XunitTestCase(diagnosticMessageSink, display, displayOptions, testMethod)]
            : [new BackendSkippedTestCase(diagnosticMessageSink, display, displayOptions, testMethod, reason)];
    }
}

/// <summary>A test case skipped because its backend cannot run here.</summary>
public sealed class BackendSkippedTestCase : XunitTestCase
{
    private string _reason = "";

    /// <summary>For the de-serializer only.</summary>
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes", error: true)]
    public BackendSkippedTestCase() { }

    /// <summary>Creates a skipped test case.</summary>
    public BackendSkippedTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod method, string reason)
        : base(sink, display, options, method) => _reason = reason;

    /// <inheritdoc />
    protected override string GetSkipReason(IAttributeInfo factAttribute) => _reason;

    /// <inheritdoc />
    public override void Serialize(IXunitSerializationInfo data)
    {
        data.AddValue("BackendSkipReason", _reason);
        base.Serialize(data);
    }

    /// <inheritdoc />
    public override void Deserialize(IXunitSerializationInfo data)
    {
        _reason = data.GetValue<string>("BackendSkipReason");
        base.Deserialize(data);
    }
}

/// <summary>
/// Base of every test class bound to one backend. The backend is created lazily, so the discoverer can construct the
/// class to learn its <see cref="BackendName"/> without touching the backend.
/// </summary>
public abstract class BackendTestBase : IDisposable
{
    private IVectorKernels? _kernels;
    private IVectorKernels? _reference;

    /// <summary>Binds the class to a backend.</summary>
    protected BackendTestBase(string backendName) => BackendName = backendName;

    /// <summary>Name of the backend under test, as registered in <see cref="KernelBackends"/>.</summary>
    public string BackendName { get; }

    /// <summary>Thread cap passed to the backend (more than the cores, so multi-threaded paths run on small machines too).</summary>
    protected virtual int MaxThreads => Math.Max(4, Environment.ProcessorCount);

    /// <summary>The backend under test.</summary>
    protected IVectorKernels Kernels => _kernels ??= KernelBackends.Create(BackendName, new KernelOptions { MaxThreads = MaxThreads });

    /// <summary>The scalar reference backend.</summary>
    protected IVectorKernels Reference => _reference ??= KernelBackends.Create("scalar");

    /// <summary>Why the backend-matrix tests of <paramref name="testClass"/> cannot run here, or null when they can.</summary>
    internal static string? SkipReason(Type testClass)
    {
        if (testClass.IsAbstract || !typeof(BackendTestBase).IsAssignableFrom(testClass)) return null;
        string name;
        try
        {
            using var instance = (BackendTestBase)Activator.CreateInstance(testClass)!;
            name = instance.BackendName;
        }
        catch (Exception e)
        {
            return $"Cannot construct {testClass.Name}: {e.Message}";
        }
        var info = KernelBackends.All.FirstOrDefault(b => string.Equals(b.Name, name, StringComparison.OrdinalIgnoreCase));
        if (info is null) return $"Backend '{name}' is not registered in KernelBackends.All.";
        if (!info.IsAvailable) return $"Backend '{name}' cannot run on this machine ({info.Description}).";
        return null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _kernels?.Dispose();
        _reference?.Dispose();
        GC.SuppressFinalize(this);
    }
}
