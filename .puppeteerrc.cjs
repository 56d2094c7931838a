// whatsapp-web.js pins puppeteer, whose postinstall downloads Chrome; many machines cannot reach that host.
// The browser comes from the system instead (see README "Getting a browser").
module.exports = { skipDownload: true };
