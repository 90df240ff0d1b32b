<?xml version="1.0" encoding="UTF-8"?>
<ogr:FeatureCollection xmlns:ogr="http://ogr.maptools.org/" xmlns:gml="http://www.opengis.net/gml">
 <gml:featureMember>
  <ogr:lots fid="lots.0">
   <ogr:geometryProperty><gml:Polygon srsName="EPSG:9214"><gml:outerBoundaryIs><gml:LinearRing>
    <gml:coordinates>561475.812,1821649.834 561475.812,1821749.834 561575.812,1821749.834 561575.812,1821649.834 561475.812,1821649.834</gml:coordinates>
   </gml:LinearRing></gml:outerBoundaryIs></gml:Polygon></ogr:geometryProperty>
   <ogr:kyHieuLo>LO-01</ogr:kyHieuLo>
  </ogr:lots>
 </gml:featureMember>
</ogr:FeatureCollection>
