using Vec.Kernels;
using Xunit;

namespace Vec.Index.Tests;

/// <summary>
/// Fuzzes the loader: random truncations, random bit flips (caught by the checksums) and random bit flips with the
/// checksums recomputed (so the corruption reaches each kind's field validation). Only <see cref="InvalidDataException"/>
/// may escape; a file the loader accepts must still search. Seeded: set VECREC_FUZZ_SEED to replay a reported seed.
/// </summary>
public sealed class IndexFileFuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Truncations = 2000;
    private const int BitFlips = 2000;
    private const int FieldFlips = 2000;

    /// <summary>Index factories to fuzz (keys of <see cref="FuzzIndexFactories.Builders"/>).</summary>
    public static TheoryData<string> Kinds() => new(FuzzIndexFactories.Builders.Keys);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Random_truncations_and_bit_flips_give_only_InvalidDataException(string kind)
    {
        int seed = Environment.GetEnvironmentVariable("VECREC_FUZZ_SEED") is { } s
            ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)
            : 20240611 + kind.Sum(c => c);
        using IVectorKernels kernels = KernelBackends.Create("simd");
        byte[] valid = SavedBytes(kernels, kind);
        // The intact file loads (the harness itself is sound).
        using (IVectorIndex ok = VectorIndex.LoadFrom(new MemoryStream(valid, writable: false), kind, kernels))
            Assert.True(ok.Count > 0);

        var rng = new Random(seed);
        int rejected = 0, accepted = 0, acceptedUnrepaired = 0;
        var layout = IndexFileLayout.Sections(valid);
        for (int i = 0; i < Truncations + BitFlips + FieldFlips; i++)
        {
            byte[] bytes;
            string what;
            if (i < Truncations)
            {
                int length = rng.Next(valid.Length);
                bytes = valid[..length];
                what = $"truncation to {length} of {valid.Length} bytes";
            }
            else
            {
                bytes = (byte[])valid.Clone();
                int flips = rng.Next(2) == 0 ? 1 : rng.Next(2, 9);
                var positions = new List<int>();
                bool fieldMode = i >= Truncations + BitFlips;
                for (int f = 0; f < flips; f++)
                {
                    int bit;
                    if (fieldMode)
                    {
                        // Flip inside the header fields or a section's tag, length or payload, not in a checksum.
                        var sec = layout[rng.Next(layout.Count)];
                        int region = rng.Next(4) == 0 ? -1 : rng.Next(sec.Length + 12);
                        int offset = region < 0 ? rng.Next(13 + valid[12]) : sec.HeadOffset + region;
                        bit = offset * 8 + rng.Next(8);
                    }
                    else bit = rng.Next(bytes.Length * 8);
                    bytes[bit >> 3] ^= (byte)(1 << (bit & 7));
                    positions.Add(bit);
                }
                if (fieldMode) TryFixChecksums(bytes);
                what = $"{(fieldMode ? "checksum-fixed " : "")}bit flips at {string.Join(",", positions)}";
            }
            try
            {
                using IVectorIndex index = VectorIndex.LoadFrom(new MemoryStream(bytes, writable: false), kind, kernels);
                accepted++;
                if (i < Truncations + BitFlips) acceptedUnrepaired++;
                // A benign corruption (e.g. a flipped mantissa bit in a vector): the index must still work.
                float[] queries = TestData.Gaussian(2, index.Dimension, i);
                SearchResult r = index.Search(queries, 3);
                Assert.Equal(6, r.Ids.Length);
            }
            catch (InvalidDataException e)
            {
                rejected++;
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
            catch (Exception e)
            {
                Assert.Fail($"Seed {seed} (VECREC_FUZZ_SEED), iteration {i}, {what}: {e.GetType().Name} escaped: {e}");
            }
        }
        output.WriteLine($"{kind}: seed {seed}, {valid.Length} bytes, {rejected} rejected, {accepted} accepted (checksum-fixed flips only).");
        // Truncations and unrepaired flips must all be rejected (the checksums see them); checksum-fixed flips may be
        // benign (a vector's low mantissa bit) but most must be caught by the field validation.
        Assert.True(acceptedUnrepaired == 0, $"Seed {seed}: {acceptedUnrepaired} truncated or bit-flipped files were accepted.");
        Assert.True(rejected > Truncations + BitFlips + FieldFlips / 4, $"Seed {seed}: only {rejected} rejected, {accepted} accepted.");
    }

    private static void TryFixChecksums(byte[] bytes)
    {
        try
        {
            IndexFileLayout.FixChecksums(bytes);
        }
        catch (Exception e) when (e is ArgumentException or OverflowException or IndexOutOfRangeException)
        {
            // The corrupted lengths no longer describe the file; leave the checksums as they are.
        }
    }

    private static byte[] SavedBytes(IVectorKernels kernels, string kind)
    {
        using var folder = new TempFolder();
        string path = folder.File("fuzz.vecidx");
        using (IVectorIndex index = FuzzIndexFactories.Builders[kind](kernels)) index.Save(path);
        return File.ReadAllBytes(path);
    }
}
