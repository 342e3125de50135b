namespace Vec.Rec;

/// <summary>How interaction values enter a collaborative-filtering model.</summary>
public enum InteractionWeighting
{
    /// <summary>Every interaction counts 1.</summary>
    Binary,

    /// <summary>The stored value (rating or count).</summary>
    Rating,

    /// <summary>TF-IDF on the binary matrix: rows are documents, columns terms; an entry in column c weighs <c>log(rows / rows with c)</c>.</summary>
    TfIdf,

    /// <summary>Okapi BM25 (k1 = 1.2, b = 0.75) on the stored values, rows as documents and columns as terms.</summary>
    Bm25,
}
