Console.WriteLine("Vec.Bench: see docs/benchmarks.md");
