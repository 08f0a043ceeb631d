using System.Text;
using Microsoft.AspNetCore.Http;
using Registry.Http;

namespace Registry.Tests.Http;

public sealed class RequestParametersTests
{
    private static readonly HashSet<string> Scope = ["scope"];

    private static RequestParameters? Query(string query, out ParameterProblem? problem)
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString(query);
        return RequestParameters.FromQuery(context.Request, Scope, out problem);
    }

    private static Task<(RequestParameters? Parameters, ParameterProblem? Problem)> PostAsync(string query, byte[] body, string? contentType)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Post;
        context.Request.QueryString = new QueryString(query);
        context.Request.ContentType = contentType;
        context.Request.Body = new MemoryStream(body);
        return RequestParameters.FromQueryAndFormAsync(context.Request, Scope);
    }

    [Fact]
    public void FromQuery_DecodesPlusPercentAndUtf8()
    {
        var parameters = Query("?a=1&b=x+y&c=%41%c3%a9&&d&scope=one&scope=two", out var problem);
        Assert.Null(problem);
        Assert.Equal("1", parameters!["a"]);
        Assert.Equal("x y", parameters["b"]);
        Assert.Equal("Aé", parameters["c"]);
        Assert.Equal("", parameters["d"]);
        Assert.Equal(["one", "two"], parameters.All("scope"));
        Assert.Null(parameters["missing"]);
    }

    [Theory]
    [InlineData("?a=%00", "control character")]
    [InlineData("?a=x%01y", "control character")]
    [InlineData("?a=%09", "control character")]
    [InlineData("?a=%7F", "control character")]
    [InlineData("?a=%C2%85", "control character")]
    [InlineData("?a=%FF", "not UTF-8")]
    [InlineData("?a=%C0%AF", "not UTF-8")]
    [InlineData("?a=%ED%A0%80", "not UTF-8")]
    [InlineData("?a=%E2%82", "not UTF-8")]
    [InlineData("?a=%zz", "two hex digits")]
    [InlineData("?a=%4", "two hex digits")]
    [InlineData("?a=1&a=2", "twice with different values")]
    public void FromQuery_RefusesTheValue_NamingTheParameter(string query, string reason)
    {
        Assert.Null(Query(query, out var problem));
        Assert.Equal("a", problem!.Name);
        Assert.Contains(reason, problem.Detail, StringComparison.Ordinal);
        Assert.Equal(400, problem.Status);
    }

    [Theory]
    [InlineData("?%00=1", "control character")]
    [InlineData("?%FF=1", "not UTF-8")]
    [InlineData("?=1", "no name")]
    public void FromQuery_RefusesTheName(string query, string reason)
    {
        Assert.Null(Query(query, out var problem));
        Assert.Null(problem!.Name);
        Assert.Contains(reason, problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void FromQuery_SameValueTwice_IsReadOnce()
    {
        var parameters = Query("?a=1&a=1", out var problem);
        Assert.Null(problem);
        Assert.Equal(["1"], parameters!.All("a"));
    }

    [Fact]
    public void FromQuery_Limits_AreExactlyTheDocumentedOnes()
    {
        Assert.NotNull(Query("?a=" + new string('x', RequestParameters.MaxValueLength), out _));
        Assert.Null(Query("?a=" + new string('x', RequestParameters.MaxValueLength + 1), out var tooLong));
        Assert.Contains("longer than", tooLong!.Detail, StringComparison.Ordinal);
        Assert.Null(Query("?" + new string('n', RequestParameters.MaxNameLength + 1) + "=1", out _));
        var many = string.Join('&', Enumerable.Range(0, RequestParameters.MaxParameters).Select(i => $"p{i}=1"));
        Assert.NotNull(Query("?" + many, out _));
        Assert.Null(Query("?" + many + "&one=more", out var tooMany));
        Assert.Contains("at most", tooMany!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FromQueryAndForm_MergesTheBodyIntoTheQuery_UnderTheSameRules()
    {
        var (parameters, problem) = await PostAsync("?service=registry", "grant_type=password&scope=a&scope=b"u8.ToArray(),
            "application/x-www-form-urlencoded; charset=utf-8");
        Assert.Null(problem);
        Assert.Equal("registry", parameters!["service"]);
        Assert.Equal("password", parameters["grant_type"]);
        Assert.Equal(["a", "b"], parameters.All("scope"));

        (_, problem) = await PostAsync("?service=registry", "service=other"u8.ToArray(), RequestParameters.FormContentType);
        Assert.Equal("service", problem!.Name);
        (_, problem) = await PostAsync("", "grant_type=%00"u8.ToArray(), RequestParameters.FormContentType);
        Assert.Equal("grant_type", problem!.Name);
        (_, problem) = await PostAsync("", [.. "grant_type="u8, 0xC3, 0x28], RequestParameters.FormContentType);
        Assert.Contains("not UTF-8", problem!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FromQueryAndForm_ABodyThatIsNotAForm_OrTooLarge_IsRefused_AndAnEmptyOneIsNoForm()
    {
        var (_, notForm) = await PostAsync("", "{\"grant_type\":\"password\"}"u8.ToArray(), "application/json");
        Assert.Contains("x-www-form-urlencoded", notForm!.Detail, StringComparison.Ordinal);
        var (_, tooLarge) = await PostAsync("", Encoding.ASCII.GetBytes("a=" + new string('x', RequestParameters.MaxFormBytes)), RequestParameters.FormContentType);
        Assert.Equal(413, tooLarge!.Status);
        var (empty, problem) = await PostAsync("?grant_type=refresh_token", [], null);
        Assert.Null(problem);
        Assert.Equal("refresh_token", empty!["grant_type"]);
    }
}
