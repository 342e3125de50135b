using System.Globalization;
using System.Text;

namespace Vec.Rec;

/// <summary>Loaders for the MovieLens data sets (GroupLens).</summary>
public static class MovieLens
{
    /// <summary>The 19 genre names of MovieLens 100K, in the order of u.item's flags.</summary>
    public static IReadOnlyList<string> Genres100K { get; } =
    [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
        "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
    ];

    /// <summary>Reads a data set in the named layout.</summary>
    /// <param name="directory">The data folder.</param>
    /// <param name="format"><c>ml100k</c> or <c>mlcsv</c>.</param>
    /// <returns>Ratings in file order and the catalog.</returns>
    /// <exception cref="ArgumentException">Unknown format.</exception>
    public static RatingDataset Load(string directory, string format) => format switch
    {
        "ml100k" => Load100K(directory),
        "mlcsv" => LoadCsv(directory),
        _ => throw new ArgumentException($"Unknown data format '{format}' (ml100k or mlcsv).", nameof(format)),
    };

    /// <summary>
    /// MovieLens 100K: <c>u.data</c> (user TAB item TAB rating TAB timestamp) and <c>u.item</c> (<c>|</c>-separated,
    /// latin-1: id, title, release date, video date, URL, 19 genre flags).
    /// </summary>
    /// <param name="directory">The ml-100k folder.</param>
    /// <returns>The data set.</returns>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="FileNotFoundException">u.data or u.item is missing.</exception>
    /// <exception cref="InvalidDataException">A malformed line (the message names file and line).</exception>
    public static RatingDataset Load100K(string directory)
    {
        string dir = CheckDirectory(directory);
        string data = Need(dir, "u.data"), item = Need(dir, "u.item");
        var items = new List<CatalogItem>();
        int lineNo = 0;
        foreach (string line in File.ReadLines(item, Encoding.Latin1))
        {
            lineNo++;
            if (line.Length == 0) continue;
            string[] f = line.Split('|');
            if (f.Length != 5 + 19) throw Bad(item, lineNo, $"expected 24 '|'-separated fields, found {f.Length}");
            long id = ParseLong(f[0], item, lineNo, "item id");
            var genres = new List<string>();
            for (int g = 0; g < 19; g++)
            {
                if (f[5 + g] == "1") genres.Add(Genres100K[g]);
                else if (f[5 + g] != "0") throw Bad(item, lineNo, $"genre flag {g} is '{f[5 + g]}', not 0 or 1");
            }

            items.Add(new CatalogItem(id, f[1], "", genres));
        }

        var ratings = new List<Rating>(100_000);
        lineNo = 0;
        foreach (string line in File.ReadLines(data))
        {
            lineNo++;
            if (line.Length == 0) continue;
            string[] f = line.Split('\t');
            if (f.Length != 4) throw Bad(data, lineNo, $"expected 4 tab-separated fields, found {f.Length}");
            ratings.Add(new Rating(ParseLong(f[0], data, lineNo, "user id"), ParseLong(f[1], data, lineNo, "item id"),
                ParseRating(f[2], data, lineNo), ParseLong(f[3], data, lineNo, "timestamp")));
        }

        return Finish(ratings, items, Genres100K, dir, data);
    }

    /// <summary>
    /// The MovieLens CSV layout (ml-latest, ml-25m, ...): <c>ratings.csv</c> (userId,movieId,rating,timestamp) and
    /// <c>movies.csv</c> (movieId,title,genres with <c>|</c> between genres; titles may be quoted). A header line is
    /// expected; CRLF line ends are accepted.
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The data set.</returns>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="FileNotFoundException">ratings.csv or movies.csv is missing.</exception>
    /// <exception cref="InvalidDataException">A malformed line (the message names file and line).</exception>
    public static RatingDataset LoadCsv(string directory)
    {
        string dir = CheckDirectory(directory);
        string data = Need(dir, "ratings.csv"), movies = Need(dir, "movies.csv");
        var items = new List<CatalogItem>();
        int lineNo = 0;
        foreach (string raw in File.ReadLines(movies, Encoding.UTF8))
        {
            lineNo++;
            string line = raw.TrimEnd('\r');
            if (lineNo == 1 || line.Length == 0) continue;
            List<string> f = SplitCsv(line, movies, lineNo);
            if (f.Count != 3) throw Bad(movies, lineNo, $"expected 3 fields (movieId,title,genres), found {f.Count}");
            string[] genres = f[2] == "(no genres listed)" || f[2].Length == 0 ? [] : f[2].Split('|');
            items.Add(new CatalogItem(ParseLong(f[0], movies, lineNo, "movieId"), f[1], "", genres));
        }

        var ratings = new List<Rating>();
        lineNo = 0;
        foreach (string raw in File.ReadLines(data))
        {
            lineNo++;
            string line = raw.TrimEnd('\r');
            if (lineNo == 1 || line.Length == 0) continue;
            string[] f = line.Split(',');
            if (f.Length != 4) throw Bad(data, lineNo, $"expected 4 comma-separated fields, found {f.Length}");
            ratings.Add(new Rating(ParseLong(f[0], data, lineNo, "userId"), ParseLong(f[1], data, lineNo, "movieId"),
                ParseRating(f[2], data, lineNo), ParseLong(f[3], data, lineNo, "timestamp")));
        }

        return Finish(ratings, items, null, dir, data);
    }

    private static RatingDataset Finish(List<Rating> ratings, List<CatalogItem> items, IReadOnlyList<string>? genres, string dir, string data)
    {
        var catalog = new ItemCatalog(items, genres);
        foreach (Rating r in ratings)
        {
            if (!catalog.TryGet(r.Item, out _))
                throw new InvalidDataException($"{data}: item {r.Item} (rated by user {r.User}) is not in the item file.");
        }

        return new RatingDataset(ratings, catalog, dir);
    }

    private static List<string> SplitCsv(string line, string file, int lineNo)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"' && sb.Length == 0) quoted = true;
            else if (c == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }

        if (quoted) throw Bad(file, lineNo, "unterminated quoted field");
        fields.Add(sb.ToString());
        return fields;
    }

    private static string CheckDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string full = Path.GetFullPath(directory);
        return Directory.Exists(full) ? full : throw new DirectoryNotFoundException($"Data folder '{full}' does not exist.");
    }

    private static string Need(string dir, string name)
    {
        string path = Path.Combine(dir, name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Data folder '{dir}' has no {name}.", path);
    }

    private static long ParseLong(string s, string file, int line, string what) =>
        long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : throw Bad(file, line, $"{what} '{s}' is not an integer");

    private static float ParseRating(string s, string file, int line) =>
        float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v) ? v : throw Bad(file, line, $"rating '{s}' is not a number");

    private static InvalidDataException Bad(string file, int line, string what) => new($"{file}, line {line}: {what}.");
}
