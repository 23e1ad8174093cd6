// An ASP.NET Core app that serves LSeg: the README's "Serving" code, and the host of the serving tests.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddLanguageSegmentation(options =>
{
    options.ModelPath = builder.Configuration["ModelPath"];   // null: the default model (LSeg.MLNet.DefaultModel)
    options.ImageCacheMegabytes = 512;                        // encoded images kept for label changes
});

var app = builder.Build();
app.UseExceptionHandler();       // anything unhandled: a 500 problem+json, not an empty body
app.UseStatusCodePages();        // unknown paths and wrong methods: 404 / 405 problem+json, as the API's own refusals
app.MapLanguageSegmentation();   // the page at /, the API under /v1, /healthz, /readyz, /openapi/lseg.json
app.Run();
