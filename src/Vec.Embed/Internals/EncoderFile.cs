namespace Vec.Embed.Internals;

/// <summary>
/// File helpers of the lexical encoders: atomic writes (temporary file in the destination's folder, flushed, then
/// renamed over the destination, deleted on failure) and path checks that name the caller's parameter.
/// </summary>
internal static class EncoderFile
{
    private const int BufferSize = 1 << 16;

    /// <summary>Test hook: wraps the temporary file's stream (e.g. in one that fails midway). Thread-static.</summary>
    [ThreadStatic]
    internal static Func<Stream, Stream>? StreamWrapperForTests;

    /// <summary>Writes <paramref name="path"/> atomically with the content <paramref name="write"/> produces.</summary>
    public static void WriteAtomically(string path, Action<Stream> write, string paramName)
    {
        string fullPath = FullPath(path, paramName);
        string? folder = Path.GetDirectoryName(fullPath);
        string name = Path.GetFileName(fullPath);
        if (folder is null || name.Length == 0)
        {
            throw new ArgumentException($"Path '{path}' does not name a file.", paramName);
        }

        if (Directory.Exists(fullPath))
        {
            throw new ArgumentException($"Path '{path}' is a directory.", paramName);
        }

        string temporary = Path.Combine(folder, $".{name}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, BufferSize))
            {
                Func<Stream, Stream>? wrap = StreamWrapperForTests;
                Stream target = wrap is null ? file : wrap(file);
                write(target);
                target.Flush();
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: the original failure is what the caller needs to see.
            }

            throw;
        }
    }

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
