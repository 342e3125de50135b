namespace Vec.Internals;

// Shared source: compiled into Vec.Index and Vec.Embed (linked from their project files), one implementation of the
// atomic write for every VecRec file format.

/// <summary>
/// Writes a file atomically: the content goes to a temporary file in the destination's folder, is flushed to disk,
/// and is then renamed over the destination. Readers see the old file or the complete new one, never a half-written
/// one; on any failure the temporary file is deleted and an existing destination is left untouched.
/// </summary>
internal static class AtomicFile
{
    private const int BufferSize = 1 << 16;

    /// <summary>
    /// Test hook: wraps the temporary file's stream (e.g. in one that fails midway). Thread-static, so tests running in
    /// parallel do not see each other's hooks.
    /// </summary>
    [ThreadStatic]
    internal static Func<Stream, Stream>? StreamWrapperForTests;

    /// <summary>Writes <paramref name="path"/> atomically with the content <paramref name="write"/> produces.</summary>
    /// <param name="path">Destination file.</param>
    /// <param name="write">Writes the whole content to the (seekable) stream it is given.</param>
    /// <param name="paramName">Name of the caller's path parameter, for argument exceptions.</param>
    public static void Write(string path, Action<Stream> write, string paramName = "path")
    {
        ArgumentException.ThrowIfNullOrEmpty(path, paramName);
        ArgumentNullException.ThrowIfNull(write);
        string fullPath;
        try
        {
            fullPath = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException($"Invalid path '{path}': {e.Message}", paramName, e);
        }
        string? folder = Path.GetDirectoryName(fullPath);
        string name = Path.GetFileName(fullPath);
        if (folder is null || name.Length == 0)
            throw new ArgumentException($"Path '{path}' does not name a file.", paramName);
        if (Directory.Exists(fullPath))
            throw new ArgumentException($"Path '{path}' is a directory.", paramName);

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
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original failure is what the caller needs to see.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
