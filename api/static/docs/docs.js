// Starts Swagger UI on the app's own OpenAPI document: no top bar (it would fetch other URLs), no
// online validator, "try it" against the origin that served the page.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    defaultModelExpandDepth: 2,
    docExpansion: "list",
    showExtensions: false,
    tryItOutEnabled: false,
  });
});
