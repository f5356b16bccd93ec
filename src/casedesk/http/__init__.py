"""The HTTP edge every route shares: problem answers, request bodies on the wire, the ASGI
guards (body size, time limit, abandoned requests), request logging, security headers, the
OpenAPI document and Swagger UI. Domain packages keep their own routes; nothing here knows a
case."""
