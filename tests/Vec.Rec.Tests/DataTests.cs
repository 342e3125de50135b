using System.Text;
using Xunit;

namespace Vec.Rec.Tests;

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vecrec-rec-" + Guid.NewGuid().ToString("N"));

    public string Write(string name, string text, Encoding? encoding = null)
    {
        string file = System.IO.Path.Combine(Path, name);
        File.WriteAllText(file, text, encoding ?? new UTF8Encoding(false));
        return file;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>MovieLens loaders, <see cref="Interactions"/> and <see cref="IdMap"/>.</summary>
public sealed class DataTests
{
    private const string Movies = "movieId,title,genres\r\n" +
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\r\n" +
        "2,\"American President, The (1995)\",Comedy|Drama|Romance\r\n" +
        "3,\"Quote \"\"Test\"\" (2001)\",(no genres listed)\r\n";

    private const string RatingsCsv = "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,3,3.5,964981247\r\n7,2,5,964982224\r\n";

    [MovieLensFact]
    public void MovieLens_100k_loads_every_rating_and_item()
    {
        RatingDataset data = SharedData.Ml100k;
        Assert.Equal(100_000, data.Ratings.Count);
        Assert.Equal(943, data.Users().Count);
        Assert.Equal(1_682, data.Items().Count);
        Assert.Equal(1_682, data.Catalog.Count);
        Assert.Equal(MovieLens.Genres100K, data.Catalog.Genres);
        // First line of u.data: 196 242 3 881250949.
        Assert.Equal(new Rating(196, 242, 3, 881250949), data.Ratings[0]);
        CatalogItem toyStory = data.Catalog[1];
        Assert.Equal("Toy Story (1995)", toyStory.Title);
        Assert.Equal(1995, toyStory.Year);
        Assert.Equal(["Animation", "Children's", "Comedy"], toyStory.Genres);
        Assert.Equal("Toy Story (1995). Animation, Children's, Comedy.", toyStory.EmbeddingText);
        // u.item is latin-1: byte 0xE9 is 'é'.
        Assert.Equal("Misérables, Les (1995)", data.Catalog[543].Title);
        Assert.Equal("C'est arrivé près de chez vous (1992)", data.Catalog[1104].Title);
        Assert.All(data.Ratings, r => Assert.InRange(r.Value, 1, 5));
    }

    [Fact]
    public void MovieLens_csv_reads_headers_crlf_quotes_and_empty_genres()
    {
        using var dir = new TempFolder();
        dir.Write("movies.csv", Movies);
        dir.Write("ratings.csv", RatingsCsv);
        RatingDataset data = MovieLens.Load(dir.Path, "mlcsv");
        Assert.Equal(3, data.Ratings.Count);
        Assert.Equal(new Rating(1, 3, 3.5f, 964981247), data.Ratings[1]);
        Assert.Equal("American President, The (1995)", data.Catalog[2].Title);
        Assert.Equal(["Comedy", "Drama", "Romance"], data.Catalog[2].Genres);
        Assert.Equal("Quote \"Test\" (2001)", data.Catalog[3].Title);
        Assert.Equal(2001, data.Catalog[3].Year);
        Assert.Empty(data.Catalog[3].Genres);
        Assert.Equal(5, data.Catalog[1].Genres.Count);
        Assert.DoesNotContain(data.Catalog.Genres, g => g.Contains('\r'));
        Assert.Equal([1L, 7L], data.Users().Ids);
    }

    [Theory]
    [InlineData("movies.csv", "movieId,title,genres\n1,Toy Story (1995)\n", 2, "expected 3 fields")]
    [InlineData("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Comedy\nx,Other (1990),Drama\n", 3, "movieId 'x'")]
    [InlineData("movies.csv", "movieId,title,genres\n1,\"Toy Story (1995),Comedy\n", 2, "unterminated")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0\n", 2, "expected 4")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,1,good,2\n", 3, "rating 'good'")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,1,NaN,1\n", 2, "rating 'NaN'")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,yesterday\n", 2, "timestamp 'yesterday'")]
    public void Malformed_csv_lines_name_the_file_and_line(string file, string text, int line, string what)
    {
        using var dir = new TempFolder();
        dir.Write("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Comedy\n");
        dir.Write("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,1\n");
        dir.Write(file, text);
        var e = Assert.Throws<InvalidDataException>(() => MovieLens.LoadCsv(dir.Path));
        Assert.Contains(file, e.Message);
        Assert.Contains($"line {line}", e.Message);
        Assert.Contains(what, e.Message);
    }

    [Theory]
    [InlineData("u.item", "1|Toy Story (1995)|01-Jan-1995\n", 1, "expected 24")]
    [InlineData("u.item", "1|Toy Story (1995)|01-Jan-1995||url|0|0|0|2|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n", 1, "genre flag 3 is '2'")]
    [InlineData("u.data", "1\t1\t4\t1\n2\t1\t3\n", 2, "expected 4 tab-separated")]
    [InlineData("u.data", "1\t1\t4\t1\nuser\t1\t3\t5\n", 2, "user id 'user'")]
    public void Malformed_100k_lines_name_the_file_and_line(string file, string text, int line, string what)
    {
        using var dir = new TempFolder();
        dir.Write("u.item", "1|Toy Story (1995)|01-Jan-1995||url|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n", Encoding.Latin1);
        dir.Write("u.data", "1\t1\t4\t1\n");
        Assert.Single(MovieLens.Load100K(dir.Path).Ratings);
        dir.Write(file, text, Encoding.Latin1);
        var e = Assert.Throws<InvalidDataException>(() => MovieLens.Load100K(dir.Path));
        Assert.Contains(file, e.Message);
        Assert.Contains($"line {line}", e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void A_rating_of_an_unknown_item_is_invalid_data()
    {
        using var dir = new TempFolder();
        dir.Write("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Comedy\n");
        dir.Write("ratings.csv", "userId,movieId,rating,timestamp\n1,99,4,1\n");
        var e = Assert.Throws<InvalidDataException>(() => MovieLens.LoadCsv(dir.Path));
        Assert.Contains("ratings.csv", e.Message);
        Assert.Contains("item 99", e.Message);
    }

    [Fact]
    public void Missing_files_and_folders_are_named()
    {
        using var dir = new TempFolder();
        dir.Write("movies.csv", Movies);
        var e = Assert.Throws<FileNotFoundException>(() => MovieLens.LoadCsv(dir.Path));
        Assert.Equal(Path.Combine(dir.Path, "ratings.csv"), e.FileName);
        Assert.Contains("ratings.csv", e.Message);
        var e100 = Assert.Throws<FileNotFoundException>(() => MovieLens.Load100K(dir.Path));
        Assert.Contains("u.data", e100.Message);
        string missing = Path.Combine(dir.Path, "nope");
        var d = Assert.Throws<DirectoryNotFoundException>(() => MovieLens.Load(missing, "ml100k"));
        Assert.Contains("nope", d.Message);
        Assert.Throws<ArgumentException>("format", () => MovieLens.Load(dir.Path, "parquet"));
    }

    [Fact]
    public void Build_merges_duplicates_and_rejects_unknown_ids()
    {
        Rating[] ratings = [new(10, 200, 3, 5), new(10, 100, 1, 7), new(20, 200, 2, 1), new(10, 200, 4, 3)];
        Interactions m = Interactions.Build(ratings);
        Assert.Equal([10L, 20L], m.Users.Ids);
        Assert.Equal([100L, 200L], m.Items.Ids);
        Assert.Equal(3, m.Count);
        Assert.Equal([0, 1], m.ItemsOf(0).ToArray());
        Assert.Equal([1f, 7f], m.ValuesOf(0).ToArray()); // 3 + 4 merged
        Assert.Equal([7L, 5L], m.TimestampsOf(0).ToArray()); // latest of 5 and 3
        Assert.Equal([1], m.ItemsOf(1).ToArray());
        Assert.True(m.Contains(1, 1));
        Assert.False(m.Contains(1, 0));
        Assert.Equal(7, m.MaxTimestamp);
        Assert.Equal([0, 2, 3], m.RowOffsets.ToArray());

        IdMap users = IdMap.FromIds([10, 20, 30]), items = IdMap.FromIds([100, 200, 300]);
        Interactions wide = Interactions.Build(ratings, users, items);
        Assert.Equal((3, 3), (wide.UserCount, wide.ItemCount));
        Assert.Empty(wide.ItemsOf(2).ToArray());
        var e = Assert.Throws<ArgumentException>("ratings", () => Interactions.Build(ratings, IdMap.FromIds([10]), items));
        Assert.Contains("user 20", e.Message);
        Assert.Throws<ArgumentException>("ratings", () => Interactions.Build(ratings, users, IdMap.FromIds([100])));
        Assert.Throws<ArgumentException>("ratings", () => Interactions.Build([new Rating(10, 100, float.NaN, 0)]));
        Assert.Throws<ArgumentOutOfRangeException>("user", () => m.ItemsOf(2));
    }

    [Fact]
    public void Transpose_swaps_rows_and_columns_and_is_cached()
    {
        Rating[] ratings = [new(1, 10, 5, 100), new(1, 30, 4, 101), new(2, 10, 3, 102), new(3, 20, 2, 103)];
        Interactions m = Interactions.Build(ratings);
        Interactions t = m.Transpose();
        Assert.Same(t, m.Transpose());
        Assert.Same(m, t.Transpose());
        Assert.Same(m.Items, t.Users);
        Assert.Equal((3, 3), (t.UserCount, t.ItemCount));
        Assert.Equal([0, 1], t.ItemsOf(0).ToArray()); // item 10: users 1, 2
        Assert.Equal([5f, 3f], t.ValuesOf(0).ToArray());
        Assert.Equal([100L, 102L], t.TimestampsOf(0).ToArray());
        Assert.Equal([2], t.ItemsOf(1).ToArray());   // item 20: user 3
        Assert.Equal([0], t.ItemsOf(2).ToArray());   // item 30: user 1
        Assert.Equal(m.Count, t.Count);
    }

    [Fact]
    public void IdMap_sorts_distinct_ids()
    {
        IdMap map = IdMap.FromIds([42, 7, 42, -3, 1000]);
        Assert.Equal(4, map.Count);
        Assert.Equal([-3L, 7L, 42L, 1000L], map.Ids);
        Assert.Equal(2, map.IndexOf(42));
        Assert.Equal(-1, map.IndexOf(8));
        Assert.Equal(1000, map[3]);
        Assert.True(map.Contains(-3));
        Assert.False(map.Contains(0));
        Assert.Throws<ArgumentOutOfRangeException>("index", () => map[4]);
        Assert.Throws<ArgumentOutOfRangeException>("index", () => map[-1]);
        Assert.Equal(0, IdMap.FromIds([]).Count);
    }
}
