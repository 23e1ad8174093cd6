using System.Diagnostics;
using LSeg.MLNet;
using LSeg.MLNet.Tests.Packages;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Interactions;

namespace LSeg.Serving.Tests;

/// <summary>
/// The page in a real browser: Debian's Chromium driven through its chromedriver (both from apt; Selenium is given
/// their paths, so Selenium Manager never runs and nothing is downloaded). Upload a photo, see the overlay and legend,
/// hover, change the labels, and check the photo was uploaded once. The screenshot is kept in the test's output folder.
/// </summary>
public sealed class BrowserTests
{
    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriver = "/usr/bin/chromedriver";

    /// <summary>Where the screenshot is written (beside the test assembly).</summary>
    public static string ScreenshotPath => Path.Combine(AppContext.BaseDirectory, "TestOutput", "serving-page.png");

    [SkippableFact]
    public void The_page_segments_a_photo_and_relabels_it_without_uploading_it_again()
    {
        bool installed = File.Exists(Chromium) && File.Exists(ChromeDriver);
        // CI installs both (.ci/run); there a missing browser is a failure, not a skip.
        Assert.False(!installed && Environment.GetEnvironmentVariable("CI") == "true", $"CI must have {Chromium} and {ChromeDriver} (apt-get install chromium chromium-driver).");
        Skip.IfNot(installed, $"{Chromium} and {ChromeDriver} are not installed (apt-get install chromium chromium-driver): the browser test cannot run here.");
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");

        using var server = new ServingFactory(modelPath: null);
        Uri address = server.StartOnLoopback();
        string photo = Path.Combine(LSeg.Tests.Shared.SharedData.RepositoryRoot, "examples", "images", "chelsea.png");
        using var model = LanguageSegmentationModel.LoadDefault();
        var reference = Reference.Encoded(model, File.ReadAllBytes(photo), "cat", "wall", "other");

        using var browser = StartChromium();
        browser.Navigate().GoToUrl(address);
        var file = browser.FindElement(By.Id("file"));
        ((IJavaScriptExecutor)browser).ExecuteScript("arguments[0].style.display = 'block';", file); // hidden behind the drop zone
        file.SendKeys(photo);
        ((IJavaScriptExecutor)browser).ExecuteScript("arguments[0].style.display = '';", file);

        // The overlay and the legend of the default labels ("cat, wall, other").
        WaitFor(browser, () => Legend(browser).SequenceEqual(["cat", "wall", "other"]), "the legend of the first labels");
        var canvas = browser.FindElement(By.Id("canvas"));
        Assert.Equal("segmented", canvas.GetDomAttribute("data-state"));
        Assert.Equal((451, 300), (int.Parse(canvas.GetDomProperty("width")!), int.Parse(canvas.GetDomProperty("height")!)));
        var shares = browser.FindElements(By.CssSelector("#legend .share")).Select(e => e.Text).ToArray();
        Assert.Equal(reference.PixelCounts.Select(c => $"{100.0 * c / (451 * 300):F1}%"), shares);

        // Hovering names the label of the pixel under the cursor, as the low-level API's mask has it.
        foreach (var (dx, dy) in new[] { (0, 0), (-120, -60), (150, 80) })
        {
            new Actions(browser).MoveToElement(canvas, dx, dy).Perform();
            var hover = browser.FindElement(By.Id("hover"));
            WaitFor(browser, () => hover.Displayed, "the hover label");
            int x = int.Parse(hover.GetDomAttribute("data-x")!), y = int.Parse(hover.GetDomAttribute("data-y")!);
            Assert.Equal(reference.LabelAt(x, y), hover.Text);
        }

        // Editing the labels segments the encoded image again: a new legend, no new upload.
        var labels = browser.FindElement(By.Id("labels"));
        labels.Clear();
        labels.SendKeys("cat, sofa, floor, other");
        WaitFor(browser, () => Legend(browser).SequenceEqual(["cat", "sofa", "floor", "other"]), "the legend of the new labels");
        new Actions(browser).MoveToElement(canvas, 0, 0).Perform();
        Assert.Equal(1, server.Log.Count("POST /v1/images"));
        Assert.Equal(0, server.Log.Count("POST /v1/segment"));
        Assert.True(server.Log.CountMatching(r => r.StartsWith("POST /v1/images/") && r.EndsWith("/segment")) >= 2, string.Join("\n", server.Log.Requests));
        Assert.False(browser.FindElement(By.Id("download")).GetDomProperty("hidden") == "True");
        Assert.StartsWith("data:image/png;base64,", browser.FindElement(By.Id("download")).GetDomAttribute("href"));

        Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
        ((ITakesScreenshot)browser).GetScreenshot().SaveAsFile(ScreenshotPath);
        Assert.True(new FileInfo(ScreenshotPath).Length > 10_000);
        // Only this server was asked for anything (the page loads no asset from elsewhere).
        var foreign = ((IJavaScriptExecutor)browser).ExecuteScript(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin));");
        Assert.Empty(Assert.IsAssignableFrom<System.Collections.IEnumerable>(foreign));
    }

    [SkippableFact]
    public void A_phone_photo_stored_sideways_is_shown_as_stored_under_its_mask_with_the_servers_colours()
    {
        bool installed = File.Exists(Chromium) && File.Exists(ChromeDriver);
        Assert.False(!installed && Environment.GetEnvironmentVariable("CI") == "true", $"CI must have {Chromium} and {ChromeDriver} (apt-get install chromium chromium-driver).");
        Skip.IfNot(installed, $"{Chromium} and {ChromeDriver} are not installed (apt-get install chromium chromium-driver): the browser test cannot run here.");
        using var temp = new TemporaryDirectory();
        using var server = new ServingFactory(ColourModelPackage.Write(temp.Path));
        Uri address = server.StartOnLoopback();
        // Stored 96 × 64, red left half, blue right half, with EXIF orientation 6 ("rotate 90° clockwise to view"):
        // a browser decodes it upright (64 × 96); the server segments the stored pixels.
        string photo = Path.Combine(temp.Path, "sideways.jpg");
        File.WriteAllBytes(photo, WithExifOrientation(Pictures.Encode(96, 64, (x, _) => x < 48 ? Pictures.Red : Pictures.Blue, SkiaSharp.SKEncodedImageFormat.Jpeg), 6));

        using var browser = StartChromium();
        browser.Navigate().GoToUrl(address);
        var labels = browser.FindElement(By.Id("labels"));
        labels.Clear();
        labels.SendKeys("red, blue");
        var file = browser.FindElement(By.Id("file"));
        ((IJavaScriptExecutor)browser).ExecuteScript("arguments[0].style.display = 'block';", file);
        file.SendKeys(photo);
        WaitFor(browser, () => Legend(browser).SequenceEqual(["red", "blue"]) && browser.FindElement(By.Id("canvas")).GetDomAttribute("data-state") == "segmented", "the legend");
        // The overlay faded out, the photo alone is read back from the canvas.
        var script = (IJavaScriptExecutor)browser;
        script.ExecuteScript("const o = document.getElementById('opacity'); o.value = 0; o.dispatchEvent(new Event('input'));");
        var canvas = browser.FindElement(By.Id("canvas"));
        long[] Pixel(int x, int y) => [.. ((System.Collections.IEnumerable)script.ExecuteScript(
            $"const d = document.getElementById('canvas').getContext('2d').getImageData({x}, {y}, 1, 1).data; return [d[0], d[1], d[2]];")!).Cast<long>()];
        // Read in one script: the label edit's own (debounced) segmentation may redraw the legend between two reads.
        string[] swatches = [.. ((System.Collections.IEnumerable)script.ExecuteScript(
            "return [...document.querySelectorAll('#legend .swatch')].map(s => getComputedStyle(s).backgroundColor);")!).Cast<string>()];

        Assert.Equal((96, 64), (int.Parse(canvas.GetDomProperty("width")!), int.Parse(canvas.GetDomProperty("height")!)));
        Assert.True(Pixel(10, 32) is [> 200, < 80, < 80], $"the stored left half is red, read {string.Join(",", Pixel(10, 32))}");
        Assert.True(Pixel(86, 32) is [< 80, < 80, > 200], $"the stored right half is blue, read {string.Join(",", Pixel(86, 32))}");
        Assert.Contains("230, 25, 75", swatches[0]); // the answer's colours: those of lseg segment
        Assert.Contains("60, 180, 75", swatches[1]);
    }

    [SkippableFact]
    public void Refused_labels_clear_the_shown_result_and_an_expired_image_is_encoded_again_without_deleting_it()
    {
        bool installed = File.Exists(Chromium) && File.Exists(ChromeDriver);
        Assert.False(!installed && Environment.GetEnvironmentVariable("CI") == "true", $"CI must have {Chromium} and {ChromeDriver} (apt-get install chromium chromium-driver).");
        Skip.IfNot(installed, $"{Chromium} and {ChromeDriver} are not installed (apt-get install chromium chromium-driver): the browser test cannot run here.");
        using var temp = new TemporaryDirectory();
        var clock = new ManualClock();
        using var server = new ServingFactory(ColourModelPackage.Write(temp.Path), clock: clock);
        Uri address = server.StartOnLoopback();
        string photo = Path.Combine(temp.Path, "halves.png");
        File.WriteAllBytes(photo, Pictures.RedLeftBlueRight(96, 64));

        using var browser = StartChromium();
        browser.Navigate().GoToUrl(address);
        var labels = browser.FindElement(By.Id("labels"));
        labels.Clear();
        labels.SendKeys("red, blue");
        var file = browser.FindElement(By.Id("file"));
        ((IJavaScriptExecutor)browser).ExecuteScript("arguments[0].style.display = 'block';", file);
        file.SendKeys(photo);
        var canvas = browser.FindElement(By.Id("canvas"));
        WaitFor(browser, () => Legend(browser).SequenceEqual(["red", "blue"]) && canvas.GetDomAttribute("data-state") == "segmented", "the legend");

        // A label the model cannot encode (not in the colour package's table): the old legend must not stay as its answer.
        labels.SendKeys(", purple");
        WaitFor(browser, () => Legend(browser).Length == 0 && canvas.GetDomAttribute("data-state") == "cleared", "the legend to be cleared");
        string refusal = browser.FindElement(By.Id("status")).Text;

        // The encoded image expires; the next edit encodes the photo again and must not DELETE the expired id (a 410).
        clock.Advance(LanguageSegmentationServingOptions.Defaults.ImageTimeToLive + TimeSpan.FromMinutes(1));
        labels.Clear();
        labels.SendKeys("blue, red");
        WaitFor(browser, () => Legend(browser).SequenceEqual(["blue", "red"]) && canvas.GetDomAttribute("data-state") == "segmented", "the legend after the expiry");

        Assert.Contains("purple", refusal);
        Assert.Equal(2, server.Log.Count("POST /v1/images"));
        Assert.Equal(0, server.Log.CountMatching(r => r.StartsWith("DELETE ", StringComparison.Ordinal)));
        // The page names its own icon: the browser asks for no /favicon.ico.
        Assert.Equal(0, server.Log.Count("GET /favicon.ico"));
    }

    /// <summary><paramref name="jpeg"/> with an EXIF APP1 segment right after its start marker giving <paramref name="orientation"/>.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, (byte)(orientation >> 8), (byte)orientation, 0, 0, 0, 0, 0, 0];
        byte[] payload = [.. "Exif"u8, 0, 0, .. tiff];
        int length = payload.Length + 2;
        return [jpeg[0], jpeg[1], 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload, .. jpeg[2..]];
    }

    private static string[] Legend(IWebDriver browser) =>
        browser.FindElements(By.CssSelector("#legend li")).Select(item => item.GetDomAttribute("data-label") ?? "").ToArray();

    private static ChromeDriver StartChromium()
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriver)!, Path.GetFileName(ChromeDriver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--window-size=1280,800",
            "--user-data-dir=" + Path.Combine(Path.GetTempPath(), "lseg-chromium-" + Guid.NewGuid().ToString("N")[..8]));
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    private static void WaitFor(IWebDriver browser, Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (condition())
                    return;
            }
            catch (StaleElementReferenceException)
            {
                // The legend was redrawn between finding and reading: look again.
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
                throw new TimeoutException($"Waited 60 s for {what}; the page says: {browser.FindElement(By.Id("status")).Text}");
            Thread.Sleep(50);
        }
    }
}
