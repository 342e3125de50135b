using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Vec.Cli.Tests;

/// <summary><c>vecrec recommend</c> end to end, on a small generated MovieLens-style data set (and MovieLens-100k where present).</summary>
public class RecommendCommandTests
{
    private static readonly string[] GenreNames = ["Action", "Comedy", "Drama", "Sci-Fi"];

    /// <summary>ratings.csv + movies.csv: 30 users, 40 movies; user u mostly rates movies of genre u % 4.</summary>
    private static string WriteData(TempFolder dir)
    {
        var movies = new StringBuilder("movieId,title,genres\n");
        for (int i = 1; i <= 40; i++)
        {
            string word = (i % 4) switch { 0 => "Battle", 1 => "Laughs", 2 => "Tears", _ => "Robots in space" };
            movies.Append(CultureInfo.InvariantCulture, $"{i},\"{word} {i} ({1980 + i % 15})\",{GenreNames[i % 4]}|{GenreNames[(i / 4) % 4]}\n");
        }

        var ratings = new StringBuilder("userId,movieId,rating,timestamp\n");
        var random = new Random(3);
        for (int u = 1; u <= 30; u++)
        {
            var seen = new HashSet<int>();
            for (int j = 0; j < 12; j++)
            {
                int item = random.NextDouble() < 0.85 ? 4 * random.Next(10) + (u % 4) : random.Next(40);
                item = item == 0 ? 40 : item;
                if (!seen.Add(item)) continue;
                ratings.Append(CultureInfo.InvariantCulture, $"{u},{item},{3 + random.Next(3)},{1_000_000 + u * 100 + j}\n");
            }
        }

        string data = Path.Combine(dir.Path, "ml");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "movies.csv"), movies.ToString());
        File.WriteAllText(Path.Combine(data, "ratings.csv"), ratings.ToString());
        return data;
    }

    private static HashSet<long> Seen(string data, long user) =>
        [.. File.ReadLines(Path.Combine(data, "ratings.csv")).Skip(1).Select(l => l.Split(','))
            .Where(f => f[0] == user.ToString(CultureInfo.InvariantCulture)).Select(f => long.Parse(f[1], CultureInfo.InvariantCulture))];

    [Fact]
    public void User_recommendations_are_a_table_with_titles_and_explanations_and_json_holds_them()
    {
        using var dir = new TempFolder();
        string data = WriteData(dir), json = dir.File_("r.json");
        var run = CliRunner.Run("recommend", "--data", data, "--format", "mlcsv", "--user", "5", "--k", "4", "--json", json);
        Assert.True(run.Code == 0, run.Stderr);
        Assert.Contains("recommendations for user 5 (ease;", run.Stdout);
        Assert.Contains("│ Rank │", run.Stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal("ease", root.GetProperty("algorithm").GetString());
        Assert.Equal("user", root.GetProperty("mode").GetString());
        var results = root.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(4, results.Length);
        HashSet<long> seen = Seen(data, 5);
        double previous = double.PositiveInfinity;
        for (int i = 0; i < results.Length; i++)
        {
            Assert.Equal(i + 1, results[i].GetProperty("rank").GetInt32());
            long id = results[i].GetProperty("itemId").GetInt64();
            Assert.DoesNotContain(id, seen);
            string title = results[i].GetProperty("title").GetString()!;
            Assert.Contains(title, run.Stdout);
            double score = results[i].GetProperty("score").GetDouble();
            Assert.True(score <= previous);
            previous = score;
            string why = results[i].GetProperty("explanation").GetString()!;
            Assert.False(string.IsNullOrWhiteSpace(why));
            foreach (var because in results[i].GetProperty("because").EnumerateArray())
            {
                Assert.Contains(because.GetProperty("itemId").GetInt64(), seen);
                Assert.Contains(because.GetProperty("title").GetString()!, why);
            }
        }

        Assert.Contains(results, r => r.GetProperty("explanation").GetString()!.StartsWith("because you rated ", StringComparison.Ordinal));
    }

    [Fact]
    public void Text_and_item_modes_use_the_content_model()
    {
        using var dir = new TempFolder();
        string data = WriteData(dir), json = dir.File_("t.json");
        var text = CliRunner.Run("recommend", "--data", data, "--format", "mlcsv", "--text", "robots in space", "--k", "5", "--json", json);
        Assert.True(text.Code == 0, text.Stderr);
        var root = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal("text", root.GetProperty("mode").GetString());
        var titles = root.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("title").GetString()!).ToArray();
        Assert.Equal(5, titles.Length);
        Assert.All(titles, t => Assert.StartsWith("Robots in space", t));

        var item = CliRunner.Run("recommend", "--data", data, "--format", "mlcsv", "--item", "7", "--user", "3", "--k", "5", "--json", json);
        Assert.True(item.Code == 0, item.Stderr);
        Assert.Contains("more like Robots in space 7", item.Stdout);
        root = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal("item", root.GetProperty("mode").GetString());
        long[] ids = [.. root.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("itemId").GetInt64())];
        Assert.DoesNotContain(7L, ids);
        Assert.Empty(ids.Intersect(Seen(data, 3)));
    }

    [Fact]
    public void Hybrid_reports_its_blend()
    {
        using var dir = new TempFolder();
        string data = WriteData(dir), json = dir.File_("h.json");
        var run = CliRunner.Run("recommend", "--data", data, "--format", "mlcsv", "--algo", "hybrid", "--dimension", "32", "--user", "2", "--text", "tears", "--k", "3", "--json", json);
        Assert.True(run.Code == 0, run.Stderr);
        Assert.Contains("hybrid blend:", run.Stdout);
        var root = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.InRange(root.GetProperty("alpha").GetDouble(), 0, 1);
        Assert.Equal(3, root.GetProperty("results").GetArrayLength());
    }

    [MovieLensFact]
    public void MovieLens_user_gets_unseen_items()
    {
        using var dir = new TempFolder();
        string json = dir.File_("ml.json");
        var run = CliRunner.Run("recommend", "--user", "196", "--k", "5", "--json", json);
        Assert.True(run.Code == 0, run.Stderr);
        var seen = File.ReadLines(Path.Combine(Shared.MovieLens100K!, "u.data")).Select(l => l.Split('\t')).Where(f => f[0] == "196").Select(f => long.Parse(f[1], CultureInfo.InvariantCulture)).ToHashSet();
        var results = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(5, results.Length);
        Assert.All(results, r => Assert.DoesNotContain(r.GetProperty("itemId").GetInt64(), seen));
    }

    [Fact]
    public void Mistakes_give_one_line()
    {
        using var dir = new TempFolder();
        string data = WriteData(dir);
        IndexCommandTests.UserError(CliRunner.Run("recommend", "--data", data, "--format", "mlcsv", "--user", "999"), "user 999 is not in");
        IndexCommandTests.UserError(CliRunner.Run("recommend", "--data", data, "--format", "mlcsv", "--item", "999"), "item 999 is not in");
        CliRunner.AssertOneLineError(CliRunner.Run("recommend", "--data", data, "--format", "mlcsv"), "give --user ID, --text");
        CliRunner.AssertOneLineError(CliRunner.Run("recommend", "--data", data, "--text", "x", "--item", "1"), "--text and --item cannot be used together");
        CliRunner.AssertOneLineError(CliRunner.Run("recommend", "--data", data, "--user", "abc"), "Cannot parse argument 'abc'");
        CliRunner.AssertOneLineError(CliRunner.Run("recommend", "--data", data, "--user", "1", "--algo", "magic"), "magic");
        CliRunner.AssertOneLineError(CliRunner.Run("recommend", "--data", data, "--user", "1", "--k", "0"), "--k must be a positive integer");
        CliRunner.AssertOneLineError(CliRunner.Run("recommend", "--data", data, "--format", "mlcsv", "--text", "  "), "--text is empty");
        CliRunner.AssertOneLineError(CliRunner.Run("recommend", "--data", dir.File_("nope"), "--user", "1"), "nope");
        File.AppendAllText(Path.Combine(data, "ratings.csv"), "1,2,three,4\n");
        CliRunner.AssertOneLineError(CliRunner.Run("recommend", "--data", data, "--format", "mlcsv", "--user", "1"), "ratings.csv");
    }
}
