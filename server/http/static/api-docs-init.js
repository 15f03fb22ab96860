// Starts Swagger UI on the service's own document (served at /api/v1/openapi.json; no CDN, no external request).
window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({
    url: '/api/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    // Swagger UI would otherwise fetch a badge from validator.swagger.io.
    validatorUrl: null,
  });
});
