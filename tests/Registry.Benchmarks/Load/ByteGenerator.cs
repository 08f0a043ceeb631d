using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Registry.Benchmarks.Load;

/// <summary>
/// Pseudo-random bytes from a seed (xoshiro256**, seeded through splitmix64): the same seed gives the same bytes
/// however they are cut into pieces, so a layer can be streamed twice (once to hash it, once to send it) without ever
/// being held in memory. Several GB/s, far faster than anything it feeds.
/// </summary>
internal sealed class ByteGenerator
{
    private ulong _s0, _s1, _s2, _s3;
    private ulong _carry;
    private int _carryBytes;

    public ByteGenerator(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>Writes the next <paramref name="destination"/>.Length bytes of the sequence.</summary>
    public void Fill(Span<byte> destination)
    {
        var i = 0;
        while (_carryBytes > 0 && i < destination.Length)
        {
            destination[i++] = (byte)_carry;
            _carry >>= 8;
            _carryBytes--;
        }
        var rest = destination[i..];
        var words = MemoryMarshal.Cast<byte, ulong>(rest);
        for (var w = 0; w < words.Length; w++)
        {
            words[w] = BitConverter.IsLittleEndian ? Next() : BinaryPrimitives.ReverseEndianness(Next());
        }
        var tail = rest[(words.Length * sizeof(ulong))..];
        if (tail.Length > 0)
        {
            _carry = Next();
            _carryBytes = sizeof(ulong);
            for (var t = 0; t < tail.Length; t++)
            {
                tail[t] = (byte)_carry;
                _carry >>= 8;
                _carryBytes--;
            }
        }
    }

    private ulong Next()
    {
        var result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    private static ulong SplitMix(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
