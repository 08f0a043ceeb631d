namespace Registry.Http;

/// <summary>How a blob GET's <c>Range</c> header is answered.</summary>
public enum RangeAnswer
{
    /// <summary>No usable Range header: redirect, the whole blob is served by storage.</summary>
    Whole,
    /// <summary>One <c>bytes=a-b</c> or <c>bytes=a-</c> range: redirect, and storage serves the slice.</summary>
    RedirectedSlice,
    /// <summary>Suffix or multiple ranges, which Blob storage does not serve: the registry streams exactly those bytes.</summary>
    ServedHere,
    /// <summary>No requested byte lies inside the blob, or a range ends before it starts: 416.</summary>
    Unsatisfiable,
}

/// <summary>A request's ranges, resolved against the blob's size (inclusive bounds).</summary>
public sealed record RangeRequest(RangeAnswer Answer, IReadOnlyList<(long Start, long End)> Ranges);

/// <summary>Parses the two range headers the protocol uses.</summary>
public static class ByteRanges
{
    /// <summary>Most ranges one request may ask for; more is answered 416 rather than costing a part each.</summary>
    public const int MaxRanges = 16;

    /// <summary>
    /// An upload's <c>Content-Range: &lt;start&gt;-&lt;end&gt;</c> (inclusive; a <c>bytes </c> or <c>bytes=</c> prefix is
    /// tolerated). False when malformed or when end &lt; start.
    /// </summary>
    public static bool TryParseContentRange(string? value, out long start, out long end)
    {
        start = end = 0;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }
        var text = value.Trim();
        if (text.StartsWith("bytes", StringComparison.OrdinalIgnoreCase))
        {
            text = text[5..].TrimStart(' ', '=');
        }
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            text = text[..slash];
        }
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && long.TryParse(text.AsSpan(0, dash), System.Globalization.NumberStyles.None, null, out start)
            && long.TryParse(text.AsSpan(dash + 1), System.Globalization.NumberStyles.None, null, out end)
            && end >= start;
    }

    /// <summary>Resolves <c>Range: bytes=a-b</c>, <c>bytes=a-</c>, <c>bytes=-n</c> and lists of them against <paramref name="size"/>.</summary>
    public static RangeRequest Resolve(string? header, long size)
    {
        var whole = new RangeRequest(RangeAnswer.Whole, []);
        if (string.IsNullOrWhiteSpace(header) || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return whole;
        }
        var parts = header[6..].Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length > MaxRanges)
        {
            return new RangeRequest(RangeAnswer.Unsatisfiable, []);
        }
        var ranges = new List<(long, long)>();
        var suffix = false;
        foreach (var part in parts)
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                return whole;
            }
            var first = part.AsSpan(0, dash);
            var last = part.AsSpan(dash + 1);
            if (first.IsEmpty)
            {
                if (!long.TryParse(last, System.Globalization.NumberStyles.None, null, out var length))
                {
                    return whole;
                }
                suffix = true;
                if (length > 0 && size > 0)
                {
                    ranges.Add((Math.Max(size - length, 0), size - 1));
                }
                continue;
            }
            if (!long.TryParse(first, System.Globalization.NumberStyles.None, null, out var start))
            {
                return whole;
            }
            var end = size - 1;
            if (!last.IsEmpty)
            {
                if (!long.TryParse(last, System.Globalization.NumberStyles.None, null, out end))
                {
                    return whole;
                }
                if (end < start)
                {
                    return new RangeRequest(RangeAnswer.Unsatisfiable, []);
                }
            }
            if (start < size)
            {
                ranges.Add((start, Math.Min(end, size - 1)));
            }
        }
        if (ranges.Count == 0)
        {
            return new RangeRequest(RangeAnswer.Unsatisfiable, []);
        }
        return new RangeRequest(!suffix && parts.Length == 1 ? RangeAnswer.RedirectedSlice : RangeAnswer.ServedHere, ranges);
    }
}
