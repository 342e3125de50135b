namespace Vec.Rec;

/// <summary>One interaction: a user rated (or consumed) an item at a time.</summary>
/// <param name="User">External user id.</param>
/// <param name="Item">External item id.</param>
/// <param name="Value">Rating or weight (1 for implicit feedback).</param>
/// <param name="Timestamp">Seconds since the Unix epoch (0 when unknown).</param>
public readonly record struct Rating(long User, long Item, float Value, long Timestamp);
