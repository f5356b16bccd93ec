// Starts Swagger UI on the document the page names. A file, not an inline script, so the
// page's Content-Security-Policy allows scripts from this server and nothing else.
"use strict";

const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
  deepLinking: false,
  showExtensions: true,
  showCommonExtensions: true,
  // Never send the document to validator.swagger.io (the default): the page stays offline.
  validatorUrl: null,
});
