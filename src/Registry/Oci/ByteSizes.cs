using System.Globalization;

namespace Registry.Oci;

/// <summary>Sizes in bytes as owners write and read them: <c>50GiB</c>, <c>1.5 TiB</c>.</summary>
public static class ByteSizes
{
    /// <summary>A size as an owner writes it: bytes, or a number with a binary unit (KiB to TiB; KB..TB read the same). Null when it is not one.</summary>
    public static long? Parse(string text)
    {
        var trimmed = text.Trim();
        var split = trimmed.Length;
        while (split > 0 && char.IsLetter(trimmed[split - 1]))
        {
            split--;
        }
        var unit = trimmed[split..].ToUpperInvariant();
        long? multiplier = unit switch
        {
            "" or "B" => 1L,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => null,
        };
        if (multiplier is null
            || !double.TryParse(trimmed[..split], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            || number <= 0 || number * multiplier.Value >= long.MaxValue)
        {
            return null;
        }
        return (long)Math.Ceiling(number * multiplier.Value);
    }

    /// <summary>Bytes as a person reads them: 1536 → "1.5 KiB".</summary>
    public static string Format(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
        var value = (double)bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]}");
    }
}
