namespace Registry.Http;

/// <summary>Parses the two range headers the protocol uses.</summary>
public static class ByteRanges
{
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

    /// <summary>How a request's <c>Range</c> header relates to a blob of a given size.</summary>
    public enum Fit
    {
        /// <summary>No Range header, or one we do not interpret (the storage serves it as it sees fit).</summary>
        Whole,
        /// <summary>A single range with at least one byte inside the blob.</summary>
        Satisfiable,
        /// <summary>Syntactically a byte range, but none of it lies inside the blob.</summary>
        Unsatisfiable,
    }

    /// <summary>Classifies <c>Range: bytes=a-b</c>, <c>bytes=a-</c>, <c>bytes=-n</c> (and lists of them) against <paramref name="size"/>.</summary>
    public static Fit Classify(string? header, long size)
    {
        if (string.IsNullOrWhiteSpace(header) || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return Fit.Whole;
        }
        var anySatisfiable = false;
        foreach (var part in header[6..].Split(',', StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                return Fit.Whole;
            }
            var first = part.AsSpan(0, dash);
            var last = part.AsSpan(dash + 1);
            if (first.IsEmpty)
            {
                if (!long.TryParse(last, System.Globalization.NumberStyles.None, null, out var suffix))
                {
                    return Fit.Whole;
                }
                anySatisfiable |= suffix > 0 && size > 0;
                continue;
            }
            if (!long.TryParse(first, System.Globalization.NumberStyles.None, null, out var start))
            {
                return Fit.Whole;
            }
            if (!last.IsEmpty)
            {
                if (!long.TryParse(last, System.Globalization.NumberStyles.None, null, out var end))
                {
                    return Fit.Whole;
                }
                if (end < start)
                {
                    return Fit.Unsatisfiable;
                }
            }
            anySatisfiable |= start < size;
        }
        return anySatisfiable ? Fit.Satisfiable : Fit.Unsatisfiable;
    }
}
