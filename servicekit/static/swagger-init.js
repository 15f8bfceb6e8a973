// Starts Swagger UI on /docs. A file, not an inline script, so the strict Content-Security-Policy
// (script-src 'self') holds on this page too. The document URL is relative to the page, so it
// also works behind a path prefix.
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // No badge from validator.swagger.io: the page contacts no host but this service.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
