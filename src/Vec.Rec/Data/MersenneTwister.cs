namespace Vec.Rec;

/// <summary>
/// MT19937 seeded with the reference <c>init_genrand(seed)</c>, producing doubles as numpy's legacy
/// <c>np.random.rand</c> does (<c>((a &gt;&gt; 5) * 67108864 + (b &gt;&gt; 6)) / 2^53</c>), so splits made with
/// <c>np.random.seed(s)</c> can be reproduced exactly. Not thread-safe.
/// </summary>
public sealed class MersenneTwister
{
    private readonly uint[] _mt = new uint[624];
    private int _index;

    /// <summary>Seeds the generator (<c>init_genrand</c>).</summary>
    /// <param name="seed">The seed.</param>
    public MersenneTwister(uint seed)
    {
        _mt[0] = seed;
        for (int i = 1; i < 624; i++) _mt[i] = unchecked(1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i);
        _index = 624;
    }

    /// <summary>The next 32-bit output (<c>genrand_int32</c>).</summary>
    public uint NextUInt32()
    {
        if (_index >= 624)
        {
            for (int i = 0; i < 624; i++)
            {
                uint y = (_mt[i] & 0x80000000u) | (_mt[(i + 1) % 624] & 0x7fffffffu);
                _mt[i] = _mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908b0dfu : 0u);
            }

            _index = 0;
        }

        uint x = _mt[_index++];
        x ^= x >> 11;
        x ^= (x << 7) & 0x9d2c5680u;
        x ^= (x << 15) & 0xefc60000u;
        x ^= x >> 18;
        return x;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits (<c>genrand_res53</c>).</summary>
    public double NextDouble()
    {
        uint a = NextUInt32() >> 5, b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }
}
