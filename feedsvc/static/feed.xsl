<?xml version="1.0" encoding="UTF-8"?>
<!-- Renders feedsvc's Atom and RSS documents as a readable page when opened in a browser.
     Feed readers ignore the xml-stylesheet instruction and read the unchanged XML. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <!-- The stylesheet's own directory, read from the xml-stylesheet instruction, so the CSS is
       found even when feedsvc is served under a path prefix. -->
  <xsl:variable name="pi" select="/processing-instruction('xml-stylesheet')"/>
  <xsl:variable name="static" select="substring-before(substring-after($pi, 'href=&quot;'), 'feed.xsl')"/>

  <xsl:template match="/">
    <xsl:variable name="title" select="atom:feed/atom:title | rss/channel/title"/>
    <xsl:variable name="self" select="(atom:feed/atom:link[@rel='self'] | rss/channel/atom:link[@rel='self'])[1]/@href"/>
    <xsl:variable name="home" select="(atom:feed/atom:link[@rel='alternate'] | rss/channel/link)[1]"/>
    <xsl:variable name="home-url" select="$home/@href | $home/text()"/>
    <html lang="{atom:feed/@xml:lang | rss/channel/language}">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> (web feed)</title>
        <link rel="stylesheet" href="{$static}feed.css"/>
      </head>
      <body>
        <main>
          <p class="notice">
            <strong>This is a web feed</strong>, also known as an Atom or RSS feed.
            <strong>Subscribe</strong> by copying the address below into a feed reader
            (NetNewsWire, Feedly, Inoreader, Miniflux, Thunderbird…): it then shows you every new post.
            Visit <a href="https://aboutfeeds.com/">About Feeds</a> to get started; it is free.
          </p>
          <label for="feed-url">Feed address</label>
          <input id="feed-url" type="text" readonly="readonly" value="{$self}"/>
          <h1><xsl:value-of select="$title"/></h1>
          <p class="subtitle"><xsl:value-of select="atom:feed/atom:subtitle"/><xsl:value-of select="rss/channel/description" disable-output-escaping="yes"/></p>
          <p><a href="{$home-url}">Visit the website →</a></p>
          <h2>Recent posts</h2>
          <xsl:apply-templates select="atom:feed/atom:entry | rss/channel/item"/>
          <xsl:if test="not(atom:feed/atom:entry | rss/channel/item)">
            <p>No posts yet.</p>
          </xsl:if>
          <nav class="paging">
            <xsl:for-each select="atom:feed/atom:link | rss/channel/atom:link">
              <xsl:if test="@rel='first' or @rel='previous' or @rel='next' or @rel='last' or @rel='prev-archive' or @rel='next-archive' or @rel='current'">
                <a href="{@href}" rel="{@rel}">
                  <xsl:choose>
                    <xsl:when test="@rel='first'">Newest posts</xsl:when>
                    <xsl:when test="@rel='previous'">← Newer</xsl:when>
                    <xsl:when test="@rel='next'">Older →</xsl:when>
                    <xsl:when test="@rel='last'">Oldest posts</xsl:when>
                    <xsl:when test="@rel='prev-archive'">Older posts (archive)</xsl:when>
                    <xsl:when test="@rel='next-archive'">Newer posts (archive)</xsl:when>
                    <xsl:otherwise>Current feed</xsl:otherwise>
                  </xsl:choose>
                </a>
                <xsl:text> </xsl:text>
              </xsl:if>
            </xsl:for-each>
          </nav>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="atom:entry">
    <article>
      <h3><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h3>
      <p class="date"><xsl:value-of select="substring(atom:published, 1, 10)"/></p>
      <p><xsl:value-of select="atom:summary"/></p>
    </article>
  </xsl:template>

  <xsl:template match="item">
    <article>
      <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
      <p class="date"><xsl:value-of select="pubDate"/></p>
      <!-- An RSS description is HTML (feedsvc escapes plain text into it): copied as such. -->
      <p><xsl:value-of select="description" disable-output-escaping="yes"/></p>
    </article>
  </xsl:template>
</xsl:stylesheet>
