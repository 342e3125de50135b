namespace Vec.Embed.Internals;

/// <summary>
/// File helpers of the lexical encoders: atomic writes through the shared <c>AtomicFile</c> and path checks that
/// name the caller's parameter.
/// </summary>
internal static class EncoderFile
{
    private const int BufferSize = 1 << 16;

    /// <summary>Writes <paramref name="path"/> atomically (<see cref="Vec.Internals.AtomicFile"/>).</summary>
    public static void WriteAtomically(string path, Action<Stream> write, string paramName) =>
        Vec.Internals.AtomicFile.Write(FullPath(path, paramName), write, paramName);

    /// <summary>The full path of <paramref name="path"/>; null, empty or malformed paths throw naming <paramref name="paramName"/>.</summary>
    public static string FullPath(string path, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, paramName);
        try
        {
            return Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException($"Invalid path '{path}': {e.Message}", paramName, e);
        }
    }

    /// <summary>Opens a file for sequential reading (FileNotFoundException and other I/O errors pass through).</summary>
    public static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);
}
