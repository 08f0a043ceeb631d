using System.Runtime.InteropServices;

namespace Registry.Hashing;

/// <summary>
/// SHA-256 whose running state can be saved and restored, so a chunked upload can be hashed across
/// requests and instances (.NET's IncrementalHash cannot export its state). It drives OpenSSL's
/// <c>SHA256_CTX</c> through libcrypto, which .NET itself needs on Linux and which uses the CPU's SHA
/// extensions where present. The saved state is the raw 112-byte context; <see cref="Restore"/> checks
/// it before handing it to native code.
/// </summary>
public sealed partial class ResumableSha256 : IContentHash
{
    /// <summary>Size of OpenSSL's SHA256_CTX: h[8], Nl, Nh, data[16], num, md_len (all 32-bit).</summary>
    public const int StateSize = 112;

    private const int NumOffset = 104;
    private const int MdLenOffset = 108;
    private const int BlockSize = 64;

    private readonly byte[] _context = new byte[StateSize];

    public ResumableSha256()
    {
        if (Native.SHA256_Init(_context) != 1)
        {
            throw new InvalidOperationException("libcrypto SHA256_Init failed.");
        }
    }

    private ResumableSha256(ReadOnlySpan<byte> state) => state.CopyTo(_context);

    /// <summary>Bytes hashed so far.</summary>
    public long Length
    {
        get
        {
            var low = BitConverter.ToUInt32(_context, 32);
            var high = BitConverter.ToUInt32(_context, 36);
            return (long)((((ulong)high << 32) | low) / 8);
        }
    }

    /// <summary>Restores a state saved by <see cref="SaveState"/>; null if it is not a valid SHA-256 context.</summary>
    public static ResumableSha256? Restore(ReadOnlySpan<byte> state)
    {
        if (state.Length != StateSize)
        {
            return null;
        }
        var num = BitConverter.ToUInt32(state[NumOffset..]);
        var mdLen = BitConverter.ToUInt32(state[MdLenOffset..]);
        // num indexes the partial-block buffer inside native code: anything else would write out of bounds.
        if (num >= BlockSize || mdLen != 32)
        {
            return null;
        }
        return new ResumableSha256(state);
    }

    public byte[] SaveState() => (byte[])_context.Clone();

    public unsafe void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }
        fixed (byte* p = data)
        {
            if (Native.SHA256_Update(_context, p, (nuint)data.Length) != 1)
            {
                throw new InvalidOperationException("libcrypto SHA256_Update failed.");
            }
        }
    }

    public Registry.Oci.Digest CurrentDigest() => Registry.Oci.Digest.FromSha256(PeekHash());

    /// <summary>The hash of everything appended; the running state is left untouched.</summary>
    public byte[] PeekHash()
    {
        var copy = (byte[])_context.Clone();
        var hash = new byte[32];
        if (Native.SHA256_Final(hash, copy) != 1)
        {
            throw new InvalidOperationException("libcrypto SHA256_Final failed.");
        }
        return hash;
    }

    private static unsafe partial class Native
    {
        private const string Library = "libcrypto.so.3";

        [LibraryImport(Library)]
        internal static partial int SHA256_Init(byte[] context);

        [LibraryImport(Library)]
        internal static partial int SHA256_Update(byte[] context, byte* data, nuint length);

        [LibraryImport(Library)]
        internal static partial int SHA256_Final(byte[] hash, byte[] context);
    }
}
