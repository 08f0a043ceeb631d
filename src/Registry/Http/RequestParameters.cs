using System.Text;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace Registry.Http;

/// <summary>Why a query string or form was refused: the parameter (when its name could be decoded) and what to fix.</summary>
public sealed record ParameterProblem(string? Name, string Detail, int Status = StatusCodes.Status400BadRequest);

/// <summary>
/// Query-string and form parameters, decoded strictly and in one place for every route that reads them (the
/// <c>/v2/</c> handlers and the token endpoints), so that no handler ever sees a value ASP.NET would have mangled
/// or thrown on. The rules:
/// <list type="bullet">
/// <item><c>application/x-www-form-urlencoded</c> syntax: <c>&amp;</c>-separated <c>name=value</c>, <c>+</c> is a
/// space, <c>%XX</c> one byte; a <c>%</c> not followed by two hex digits is refused.</item>
/// <item>The decoded bytes of every name and value are UTF-8 (overlong forms and surrogates are not), and contain no
/// control character (U+0000–U+001F, U+007F–U+009F).</item>
/// <item>At most <see cref="MaxParameters"/> parameters, names of at most <see cref="MaxNameLength"/> characters and
/// values of at most <see cref="MaxValueLength"/>.</item>
/// <item>A name given twice with different values is refused: which copy wins differs between proxies, client
/// libraries and servers. The same value twice is read once. Names declared multi-valued (the token endpoint's
/// <c>scope</c>) keep every value.</item>
/// </list>
/// </summary>
public sealed class RequestParameters
{
    public const int MaxParameters = 100;

    public const int MaxNameLength = 128;

    /// <summary>Longest value, in characters: an Entra ID access token (the longest thing any client sends) fits.</summary>
    public const int MaxValueLength = 16 * 1024;

    /// <summary>Largest form body read, in bytes; a token request is well under 20 KiB.</summary>
    public const int MaxFormBytes = 64 * 1024;

    public const string FormContentType = "application/x-www-form-urlencoded";

    private static readonly HashSet<string> NoneMultiValued = [];

    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly IReadOnlySet<string> _multiValued;
    private int _count;

    private RequestParameters(IReadOnlySet<string> multiValued) => _multiValued = multiValued;

    /// <summary>The value of <paramref name="name"/>, or null when absent. Repeats were checked to agree.</summary>
    public string? this[string name] => _values.TryGetValue(name, out var values) ? values[0] : null;

    /// <summary>Every value of a multi-valued name, in order; empty when absent.</summary>
    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var values) ? values : [];

    /// <summary>Parses the query string of <paramref name="request"/>; null and a problem when it breaks a rule.</summary>
    public static RequestParameters? FromQuery(HttpRequest request, IReadOnlySet<string>? multiValued, out ParameterProblem? problem)
    {
        ArgumentNullException.ThrowIfNull(request);
        var parameters = new RequestParameters(multiValued ?? NoneMultiValued);
        var query = request.QueryString.Value;
        problem = string.IsNullOrEmpty(query) ? null : parameters.Add(Encoding.UTF8.GetBytes(query.TrimStart('?')));
        return problem is null ? parameters : null;
    }

    /// <summary>
    /// The query string plus, for a POST, the <c>application/x-www-form-urlencoded</c> body (read up to
    /// <see cref="MaxFormBytes"/>; more is a 413). A POST body of any other type is refused; an empty one is no form.
    /// </summary>
    public static async Task<(RequestParameters? Parameters, ParameterProblem? Problem)> FromQueryAndFormAsync(
        HttpRequest request, IReadOnlySet<string>? multiValued)
    {
        var parameters = FromQuery(request, multiValued, out var problem);
        if (parameters is null || !HttpMethods.IsPost(request.Method))
        {
            return (parameters, problem);
        }
        var body = await ReadBoundedAsync(request);
        if (body is null)
        {
            return (null, new ParameterProblem(null, $"the form may be at most {MaxFormBytes} bytes", StatusCodes.Status413PayloadTooLarge));
        }
        if (body.Length == 0)
        {
            return (parameters, null);
        }
        if (!IsForm(request.ContentType))
        {
            return (null, new ParameterProblem(null, $"the request body must be {FormContentType}, not '{request.ContentType}'"));
        }
        problem = parameters.Add(body);
        return problem is null ? (parameters, null) : (null, problem);
    }

    private static bool IsForm(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }
        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim().Equals(FormContentType, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The body, or null when it is longer than <see cref="MaxFormBytes"/> (reading stops after one byte more).</summary>
    private static async Task<byte[]?> ReadBoundedAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxFormBytes)
        {
            return null;
        }
        var buffer = new byte[MaxFormBytes + 1];
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(filled), request.HttpContext.RequestAborted)) > 0)
        {
            filled += read;
        }
        return filled > MaxFormBytes ? null : buffer[..filled];
    }

    /// <summary>Adds the parameters of an encoded query or form; the first rule broken, or null.</summary>
    private ParameterProblem? Add(ReadOnlySpan<byte> encoded)
    {
        foreach (var range in encoded.Split((byte)'&'))
        {
            var pair = encoded[range];
            if (pair.IsEmpty)
            {
                continue;
            }
            if (++_count > MaxParameters)
            {
                return new ParameterProblem(null, $"at most {MaxParameters} parameters are accepted");
            }
            var equals = pair.IndexOf((byte)'=');
            var rawName = equals < 0 ? pair : pair[..equals];
            var rawValue = equals < 0 ? [] : pair[(equals + 1)..];
            if (Decode(rawName, MaxNameLength, out var name) is { } nameProblem)
            {
                return new ParameterProblem(null, $"a parameter name {nameProblem}");
            }
            if (name.Length == 0)
            {
                return new ParameterProblem(null, "a parameter has no name");
            }
            if (Decode(rawValue, MaxValueLength, out var value) is { } valueProblem)
            {
                return new ParameterProblem(name, $"parameter '{Shown(name)}' {valueProblem}");
            }
            if (!_values.TryGetValue(name, out var values))
            {
                _values[name] = [value];
            }
            else if (_multiValued.Contains(name))
            {
                values.Add(value);
            }
            else if (values[0] != value)
            {
                return new ParameterProblem(name, $"parameter '{Shown(name)}' is given twice with different values; send it once");
            }
        }
        return null;
    }

    /// <summary>Percent- and plus-decodes one name or value; what is wrong with it, or null.</summary>
    private static string? Decode(ReadOnlySpan<byte> encoded, int maxLength, out string text)
    {
        text = "";
        // One character is at most three UTF-8 bytes, each at most three encoded ones ("%XX"): a bound before any work.
        if (encoded.Length > 9 * maxLength)
        {
            return $"is longer than {maxLength} characters";
        }
        var bytes = new byte[encoded.Length];
        var length = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            var b = encoded[i];
            if (b == '%')
            {
                if (i + 2 >= encoded.Length || !IsHex(encoded[i + 1]) || !IsHex(encoded[i + 2]))
                {
                    return "has a '%' that is not followed by two hex digits";
                }
                b = (byte)((HexValue(encoded[i + 1]) << 4) | HexValue(encoded[i + 2]));
                i += 2;
            }
            else if (b == '+')
            {
                b = (byte)' ';
            }
            bytes[length++] = b;
        }
        var decoded = bytes.AsSpan(0, length);
        if (!Utf8.IsValid(decoded))
        {
            return "is not UTF-8 once percent-decoded";
        }
        text = Encoding.UTF8.GetString(decoded);
        if (text.Length > maxLength)
        {
            return $"is longer than {maxLength} characters";
        }
        if (HasControlCharacter(text))
        {
            return "contains a control character";
        }
        return null;
    }

    /// <summary>True when <paramref name="text"/> holds a C0 or C1 control character or DEL (tab included).</summary>
    public static bool HasControlCharacter(ReadOnlySpan<char> text) =>
        text.ContainsAnyInRange('\u0000', '\u001f') || text.ContainsAnyInRange('\u007f', '\u009f');

    private static bool IsHex(byte b) => char.IsAsciiHexDigit((char)b);

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

    /// <summary>A name as error messages quote it: at most 64 characters.</summary>
    private static string Shown(string name) => name.Length <= 64 ? name : name[..64] + "…";
}
