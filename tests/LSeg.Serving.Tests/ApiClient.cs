using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using LSeg.MLNet.Imaging;

namespace LSeg.Serving.Tests;

/// <summary>The segmentation JSON as a client reads it.</summary>
internal sealed record Segmentation(int Width, int Height, string[] Labels, double[] Shares, string Mask, string[] Colours)
{
    /// <summary>The decoded mask PNG's label indices.</summary>
    public byte[] MaskIndices => DecodeMask(Convert.FromBase64String(Mask), Width, Height);

    public static byte[] DecodeMask(byte[] png, int width, int height)
    {
        var image = IndexPng.Decode(png);
        Assert.Equal((width, height), (image.Width, image.Height));
        return image.Pixels;
    }
}

/// <summary>The answer of POST /v1/images.</summary>
internal sealed record EncodedImageAnswer(string Id, int Width, int Height, DateTimeOffset ExpiresAt);

/// <summary>Requests as a client sends them, and readers of the answers.</summary>
internal static class ApiClient
{
    public static MultipartFormDataContent Upload(byte[]? image, string? labels = null, string fileName = "photo.png")
    {
        var form = new MultipartFormDataContent();
        if (image is not null)
        {
            var file = new ByteArrayContent(image);
            file.Headers.ContentType = new MediaTypeHeaderValue(fileName.EndsWith(".jpg") ? "image/jpeg" : "image/png");
            form.Add(file, "image", fileName);
        }
        if (labels is not null)
            form.Add(new StringContent(labels), "labels");
        return form;
    }

    public static Task<HttpResponseMessage> SegmentAsync(this HttpClient client, byte[]? image, string? labels, string? format = null) =>
        client.PostAsync(format is null ? "v1/segment" : $"v1/segment?format={format}", Upload(image, labels));

    public static Task<HttpResponseMessage> EncodeAsync(this HttpClient client, byte[]? image) => client.PostAsync("v1/images", Upload(image));

    /// <summary>
    /// Opens a raw connection to a server on Kestrel at <paramref name="address"/> and sends a <c>POST /v1/segment</c> whose
    /// headers announce all of <paramref name="upload"/> but whose body stops halfway: a client trickling its upload.
    /// </summary>
    public static async Task<System.Net.Sockets.TcpClient> SendHalfAnUploadAsync(Uri address, HttpContent upload)
    {
        byte[] body = await upload.ReadAsByteArrayAsync();
        var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(address.Host, address.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            $"POST /v1/segment HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: {upload.Headers.ContentType}\r\nContent-Length: {body.Length}\r\n\r\n"));
        await stream.WriteAsync(body.AsMemory(0, body.Length / 2));
        return socket;
    }

    public static Task<HttpResponseMessage> RelabelAsync(this HttpClient client, string id, string?[] labels, string? format = null) =>
        client.PostAsJsonAsync(format is null ? $"v1/images/{id}/segment" : $"v1/images/{id}/segment?format={format}", new { labels });

    public static async Task<Segmentation> ReadSegmentationAsync(this HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadFromJsonAsync<Segmentation>())!;
    }

    public static async Task<EncodedImageAnswer> EncodeOkAsync(this HttpClient client, byte[] image)
    {
        var response = await client.EncodeAsync(image);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<EncodedImageAnswer>())!;
    }

    /// <summary>Asserts an RFC 7807 answer of <paramref name="status"/> whose type ends in <paramref name="code"/>; returns its detail.</summary>
    public static async Task<string> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        var root = problem.RootElement;
        Assert.Equal("urn:lseg:problem:" + code, root.GetProperty("type").GetString());
        Assert.Equal((int)status, root.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("title").GetString()));
        string detail = root.GetProperty("detail").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(detail));
        return detail;
    }
}
