using Xunit;

namespace Vec.Kernels.Tests;

/// <summary><see cref="RowFilter"/>: construction, bounds and counts.</summary>
public class RowFilterTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(200)]
    public void AllowDenyAndPredicateAgree(int rowCount)
    {
        var random = new Random(rowCount);
        bool[] allowed = Enumerable.Range(0, rowCount).Select(_ => random.Next(3) == 0).ToArray();
        int[] allowList = Enumerable.Range(0, rowCount).Where(r => allowed[r]).ToArray();
        int[] denyList = Enumerable.Range(0, rowCount).Where(r => !allowed[r]).ToArray();
        var filters = new[]
        {
            RowFilter.Allow(allowList.Concat(allowList).ToArray(), rowCount), // duplicates are harmless
            RowFilter.Deny(denyList.Concat(denyList.Take(3)).ToArray(), rowCount),
            RowFilter.FromPredicate(rowCount, r => allowed[r]),
        };
        foreach (var filter in filters)
        {
            Assert.Equal(rowCount, filter.RowCount);
            Assert.Equal(allowList.Length, filter.AllowedCount);
            for (int r = 0; r < rowCount; r++) Assert.Equal(allowed[r], filter.IsAllowed(r));
        }
    }

    [Fact]
    public void EmptyListsMeanNothingOrEverything()
    {
        Assert.Equal(0, RowFilter.Allow([], 70).AllowedCount);
        Assert.Equal(70, RowFilter.Deny([], 70).AllowedCount);
        Assert.True(RowFilter.Deny([], 70).IsAllowed(69));
        Assert.Equal(0, RowFilter.FromPredicate(70, _ => false).AllowedCount);
    }

    [Fact]
    public void PredicateRunsOncePerRow()
    {
        var calls = new int[130];
        var filter = RowFilter.FromPredicate(130, r => ++calls[r] > 0 && r % 2 == 0);
        Assert.All(calls, c => Assert.Equal(1, c));
        Assert.Equal(65, filter.AllowedCount);
    }

    [Fact]
    public void BadArgumentsThrowNamingTheArgument()
    {
        Assert.Equal("rows", Assert.ThrowsAny<ArgumentException>(() => RowFilter.Allow([5], 5)).ParamName);
        Assert.Equal("rows", Assert.ThrowsAny<ArgumentException>(() => RowFilter.Allow([-1], 5)).ParamName);
        Assert.Equal("rows", Assert.ThrowsAny<ArgumentException>(() => RowFilter.Deny([64], 64)).ParamName);
        Assert.Equal("rowCount", Assert.ThrowsAny<ArgumentException>(() => RowFilter.Allow([], -1)).ParamName);
        Assert.Equal("rowCount", Assert.ThrowsAny<ArgumentException>(() => RowFilter.Deny([], -1)).ParamName);
        Assert.Equal("rowCount", Assert.ThrowsAny<ArgumentException>(() => RowFilter.FromPredicate(-1, _ => true)).ParamName);
        Assert.Equal("allowed", Assert.ThrowsAny<ArgumentException>(() => RowFilter.FromPredicate(3, null!)).ParamName);
        var filter = RowFilter.Deny([], 10);
        Assert.Equal("row", Assert.ThrowsAny<ArgumentException>(() => filter.IsAllowed(10)).ParamName);
        Assert.Equal("row", Assert.ThrowsAny<ArgumentException>(() => filter.IsAllowed(-1)).ParamName);
    }
}
